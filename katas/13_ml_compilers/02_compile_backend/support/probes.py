"""What the compile-backend tests do where the learner's code runs: torch.compile calls a backend in
the process that compiles, so the compiling happens here (kata.probe) and what dynamo and the backends
saw comes back as data (tensors, counts, names) for the test to judge."""
import torch
import torch._dynamo
from torch._dynamo.utils import counters


def fresh():
    torch._dynamo.reset()
    counters.clear()


def f(x):
    y = torch.sin(x) * 2
    torch._dynamo.graph_break()     # one break: two graphs
    return torch.cos(y) + 1


def record(mod, x):
    """torch.compile(f, backend=mod.RecordingBackend()) called on x. Returns (the compiled function, the
    backend, its output on x, what backend.graphs holds: {"repr": repr cut to 200 characters, "is_list",
    "len" (None if not a list), "types": type names of its items, "graph_modules": whether each is a
    torch.fx.GraphModule, "targets": per graph, the names of its call_function targets (None unless
    every item is a GraphModule)})."""
    fresh()
    be = mod.RecordingBackend()
    cf = torch.compile(f, backend=be)
    got = cf(x)
    graphs = getattr(be, "graphs", None)
    seen = {"repr": f"{graphs!r:.200}", "is_list": isinstance(graphs, list), "len": None, "types": None,
            "graph_modules": None, "targets": None}
    if isinstance(graphs, list):
        seen["len"] = len(graphs)
        seen["types"] = [type(g).__name__ for g in graphs]
        seen["graph_modules"] = [isinstance(g, torch.fx.GraphModule) for g in graphs]
        if all(seen["graph_modules"]):
            seen["targets"] = [sorted({getattr(n.target, "__name__", str(n.target)) for n in g.graph.nodes
                                       if n.op == "call_function"}) for g in graphs]
    return cf, be, got, seen


def graph_count(be):
    """len(be.graphs)."""
    return len(be.graphs)


def two_backends(mod, x):
    """Backends a and b made, torch.compile(lambda x: x * 3, backend=a) called on x: (len(a.graphs),
    len(b.graphs))."""
    fresh()
    a, b = mod.RecordingBackend(), mod.RecordingBackend()
    torch.compile(lambda x: x * 3, backend=a)(x)
    return len(a.graphs), len(b.graphs)


class Recorder:
    """A backend of the instructor's own: records the graphs, runs each as it is."""

    def __init__(self):
        self.graphs = []

    def __call__(self, gm, example_inputs):
        self.graphs.append(gm)
        return gm.forward


def compile_fixed(mod):
    """After a dynamo reset: (torch.compile(mod.fixed, backend=rec), rec), rec a fresh Recorder."""
    fresh()
    rec = Recorder()
    return torch.compile(mod.fixed, backend=rec), rec


def dynamo_counts(rec):
    """(dynamo's graph-break count, the first lines of up to 3 of its break reasons, the number of graphs
    rec was given)."""
    breaks = sum(counters["graph_break"].values())
    reasons = sorted({r.strip().splitlines()[0][:120] for r in counters["graph_break"]})[:3]
    return breaks, reasons, len(rec.graphs)
