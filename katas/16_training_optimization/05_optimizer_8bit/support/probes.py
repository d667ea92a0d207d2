"""What the 8-bit Adam tests do beside the learner's optimizer: build the test's regression data and
network there from the same seeds (modules, optimizers and autograd graphs cannot cross), train with the
learner's Adam8bit, and return what came out (parameters, loss, state bytes) for the test to judge
against its own fp32 Adam run. Under `kata grade` this file runs in the learner's process (kata.probe);
the checks do not."""
import torch


def regression():
    torch.manual_seed(0)
    X = torch.randn(256, 24)
    W = torch.randn(24, 1)
    Y = torch.tanh(X @ W) + 0.05 * torch.randn(256, 1)
    return X, Y


def net():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(24, 61), torch.nn.Tanh(), torch.nn.Linear(61, 1))


def train(mod, steps, lr, block_size):
    """net() trained by Adam8bit(lr, block_size) for `steps` steps of zero_grad, MSE on regression(),
    backward, step. Returns (its parameters flattened and concatenated, the final MSE)."""
    X, Y = regression()
    b = net()
    ob = mod.Adam8bit(b.parameters(), lr=lr, block_size=block_size)
    for _ in range(steps):
        ob.zero_grad()
        ((b(X) - Y) ** 2).mean().backward()
        ob.step()
    pb = torch.cat([p.detach().flatten() for p in b.parameters()])
    with torch.no_grad():
        lb = ((b(X) - Y) ** 2).mean().item()
    return pb, lb


def state_bytes(mod, lr, block_size):
    """net() and Adam8bit(lr, block_size); one backward of the MSE on regression() and one step. Returns the
    bytes of the distinct tensor storages found in opt.state (walking dicts, lists and tuples)."""
    model = net()
    opt = mod.Adam8bit(model.parameters(), lr=lr, block_size=block_size)
    X, Y = regression()
    ((model(X) - Y) ** 2).mean().backward()
    opt.step()
    seen, total = set(), 0

    def walk(v):
        nonlocal total
        if isinstance(v, torch.Tensor):
            key = (v.untyped_storage().data_ptr(), v.untyped_storage().nbytes())
            if key not in seen:
                seen.add(key)
                total += v.untyped_storage().nbytes()
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    walk(opt.state)
    return total
