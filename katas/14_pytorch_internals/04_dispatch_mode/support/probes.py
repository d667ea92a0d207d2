"""The programs the FLOP tests run, and running one inside the learner's FlopCounter. Under `kata grade`
this file runs in the learner's process (kata.probe): a dispatch mode only sees the torch calls made
where it is entered, so the program runs here and the counts come back as data. The test loads this
file in its own process too, for `workload` alone, and counts the same program with torch's
FlopCounterMode there."""
import torch
from torch.nn import functional as F


def mlp():
    """torch.manual_seed(0), then a 3-layer MLP (10 -> 32 -> 32 -> 3) drawn from the global generator."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.GELU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, 3))


def workload(name, tensors=(), kw=None):
    """A thunk running the named program on the given tensors (and keyword arguments)."""
    kw = kw or {}
    if name == "matmul":
        a, b = tensors
        return lambda: a @ b
    if name == "linear":  # nn.Linear(in, out) with the given weight (and bias, if any)
        x, w, *bias = tensors
        lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=bool(bias))
        with torch.no_grad():
            lin.weight.copy_(w)
            if bias:
                lin.bias.copy_(bias[0])
        return lambda: lin(x)
    if name == "F.linear":
        x, w = tensors
        return lambda: F.linear(x, w)
    if name == "bmm":
        return lambda: torch.bmm(*tensors)
    if name == "baddbmm":
        return lambda: torch.baddbmm(*tensors)
    if name == "scores":  # q @ k^T
        q, k = tensors
        return lambda: q @ k.transpose(-1, -2)
    if name in ("conv1d", "conv2d"):
        conv = F.conv2d if name == "conv2d" else F.conv1d
        x, w = tensors
        return lambda: conv(x, w, **kw)
    if name == "mlp_step":  # forward + backward of mlp()
        x, y = tensors
        model = mlp()

        def step():
            model.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss
        return step
    if name == "relu_mm_add":
        a, b = tensors
        return lambda: torch.relu(a @ b) + 1
    raise ValueError(f"no workload {name!r}")


def count(mod, name, tensors=(), kw=None, grad=True):
    """Run the named program inside a fresh mod.FlopCounter() (under torch.no_grad() if not grad).
    Returns (the mode, its .flops as {name: int} with zero entries dropped, the program's result if it
    is a tensor, else None); the test calls the mode's total() itself."""
    fn = workload(name, tensors, kw)
    mode = mod.FlopCounter()
    with torch.set_grad_enabled(grad):
        with mode:
            out = fn()
    flops = {k: int(v) for k, v in dict(mode.flops).items() if v}
    return mode, flops, (out.detach() if isinstance(out, torch.Tensor) else None)
