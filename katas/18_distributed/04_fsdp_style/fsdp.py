"""Fully sharded data parallelism in miniature: parameters sharded, gathered for forward, gradients
reduce-scattered. See README.md."""
import math  # noqa: F401

import torch  # noqa: F401
import torch.distributed as dist  # noqa: F401
from torch import nn


class FSDP(nn.Module):
    """Wrap `module` (the same initial parameters on every rank). View its parameters as one flat vector
    of P elements (in module.parameters() order), padded with zeros to N * S, S = ceil(P / N). Rank r keeps
    only elements [r * S, (r + 1) * S) as `self.shard`, an nn.Parameter of S elements, and that is the
    only parameter this module has (self.parameters() yields it alone); the module's own full parameters
    are freed.

    forward(*args): all-gather the shards into the full parameters, run `module` with them, return its
    output. Backward: the gradient of the full parameters is reduce-scattered, so that `self.shard.grad`
    holds this rank's slice of the MEAN over ranks of their gradients. An optimizer over
    FSDP.parameters() then trains exactly as a single process on the whole batch."""

    def __init__(self, module):
        super().__init__()
        raise NotImplementedError("fsdp.py: FSDP.__init__()")

    def forward(self, *args):
        raise NotImplementedError("fsdp.py: FSDP.forward()")
