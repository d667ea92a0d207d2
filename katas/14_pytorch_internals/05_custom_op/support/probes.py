"""What the custom-op tests do where the learner's code runs (kata.probe): the op is registered in
that process's torch, so it is looked up, called, differentiated, checked and compiled there, and the
outputs, gradients, op names and reports come back as data for the test to judge."""
import torch
from torch.utils._python_dispatch import TorchDispatchMode


def has_op(mod):
    """Whether torch.ops.katas.softclip.default exists once mod (softclip.py) is imported."""
    try:
        torch.ops.katas.softclip.default
        return True
    except (AttributeError, RuntimeError):
        return False


def call(mod, x, limit):
    """(mod.softclip(x, limit), x as it is after the call)."""
    return mod.softclip(x, limit), x


class OpLog(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    @classmethod
    def _should_skip_dynamo(cls):
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func.name())
        return func(*args, **(kwargs or {}))


def dispatched(mod, x, limit):
    """The names of the ops a dispatch mode sees while mod.softclip(x, limit) runs."""
    with OpLog() as log:
        mod.softclip(x, limit)
    return log.ops


def opcheck(mod, x, limit):
    """torch.library.opcheck(katas::softclip, (x, limit)): {test: "SUCCESS" or (str(error), repr(error))}."""
    report = torch.library.opcheck(torch.ops.katas.softclip.default, (x, limit), raise_exception=False)
    return {k: v if isinstance(v, str) and v == "SUCCESS" else (str(v), repr(v)) for k, v in report.items()}


def grad(mod, x, limit, g):
    """x.grad after mod.softclip(x, limit).backward(g) (x requires grad)."""
    mod.softclip(x, limit).backward(g)
    return x.grad


def compiled(mod, calls):
    """torch.compile(f, backend="aot_eager", fullgraph=True, dynamic=True) for
    f(x, w) = (mod.softclip(x @ w, 2.0) * 3).sum(-1), after a dynamo reset, called on each (x, w) in
    calls (x requires grad), each followed by y.sum().backward(). Per call, {"y", "grad": x.grad} or,
    where it stopped, {"error": (type name, first line of the message)} from the compiled call or
    {"backward_error": (type name, message)}. Returns (those, dynamo's graph-break count)."""
    import torch._dynamo  # here, not at the top: importing it costs 1-2 s in every test's worker
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()

    def f(x, w):
        return (mod.softclip(x @ w, 2.0) * 3).sum(-1)

    cf = torch.compile(f, backend="aot_eager", fullgraph=True, dynamic=True)
    out = []
    for x, w in calls:
        try:
            y = cf(x, w)
        except Exception as e:  # noqa: BLE001  (dynamo raises many types; all mean the same here)
            first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            out.append({"error": (type(e).__name__, first)})
            break
        try:
            y.sum().backward()
        except Exception as e:  # noqa: BLE001
            out.append({"y": y.detach(), "backward_error": (type(e).__name__, str(e)[:500])})
            break
        out.append({"y": y.detach(), "grad": x.grad})
    return out, sum(counters["graph_break"].values())
