"""Naive control: correct, but loops over the batch with lengths[b].item() (a graph break per call,
and data-dependent Python), and compiles without dynamic shapes (a recompile when the shape changes)."""
"""A model that torch.compile captures as one graph, once, for every batch size and length. See README.md."""
import torch
from torch import nn


def masked_mean(x, lengths):
    """Mean over the first lengths[b] time steps of x[b]: x (B, T, D), lengths (B,) int64 -> (B, D)."""
    rows = []
    for b in range(x.shape[0]):
        n = int(lengths[b].item())
        rows.append(x[b, :n].mean(dim=0))
    return torch.stack(rows)


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
    return torch.compile(model, backend="eager")
