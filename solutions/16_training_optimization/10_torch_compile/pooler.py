"""A model that torch.compile captures as one graph, once, for every batch size and length. See README.md."""
import torch
from torch import nn


def masked_mean(x, lengths):
    """Mean over the first lengths[b] time steps of x[b]: x (B, T, D), lengths (B,) int64 -> (B, D)."""
    T = x.shape[1]
    mask = (torch.arange(T, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)   # (B, T)
    return (x * mask[:, :, None]).sum(dim=1) / lengths.clamp(min=1)[:, None].to(x.dtype)


class Pooler(nn.Module):
    def __init__(self, dim, classes, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.proj = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x, lengths):
        h = torch.nn.functional.gelu(self.proj(x))
        return self.head(masked_mean(h, lengths))


def compile_model(model):
    """torch.compile with the eager backend (graph capture only), shapes dynamic from the first call."""
    return torch.compile(model, backend="eager", dynamic=True, fullgraph=False)
