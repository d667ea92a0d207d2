"""Wrong control: the recorded graphs live in a class attribute, shared by every
RecordingBackend: a second backend starts with the first one's graphs."""
import torch


class RecordingBackend:
    """Use as torch.compile(fn, backend=RecordingBackend()). Each time dynamo has captured a graph it
    calls backend(gm, example_inputs): append gm (a torch.fx.GraphModule) to self.graphs and return a
    callable that runs the graph."""

    graphs = []

    def __init__(self):
        pass

    def __call__(self, gm: torch.fx.GraphModule, example_inputs):
        self.graphs.append(gm)
        return gm.forward  # run the captured graph as it is (no code generation)


def broken(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The function to fix (given; leave it as it is): dynamo breaks its graph three times."""
    h = x @ w
    scale = h.abs().max().item()                  # a tensor turned into a Python float
    h = h / (scale + 1e-6)
    if h.mean() > 0:                              # a Python branch on a tensor's value
        h = torch.relu(h)
    else:
        h = -torch.relu(-h)
    counts = [int(v) for v in (h > 0).sum(1)]     # a tensor turned into Python ints
    return h * torch.tensor(counts, dtype=h.dtype)[:, None]


def fixed(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The same values as broken(x, w), for x of shape (B, K) and w of shape (K, N), written so that
    torch.compile captures it as ONE graph: no graph break."""
    h = x @ w
    h = h / (h.abs().max() + 1e-6)                       # stays a tensor
    h = torch.where(h.mean() > 0, torch.relu(h), -torch.relu(-h))   # both sides computed, one chosen per call
    counts = (h > 0).sum(1, keepdim=True).to(h.dtype)    # (B, 1): stays a tensor
    return h * counts
