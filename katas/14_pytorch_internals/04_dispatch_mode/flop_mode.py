"""A TorchDispatchMode that counts FLOPs per aten op. See README.md."""
from collections import defaultdict

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten


class FlopCounter(TorchDispatchMode):
    """Inside `with FlopCounter() as fc:`, every aten op passes through __torch_dispatch__.
    fc.flops maps an op's name ("mm", "addmm", "bmm", "baddbmm", "convolution") to the FLOPs it did,
    counting a multiply-add as 2 FLOPs, and holds no other ops."""

    def __init__(self):
        super().__init__()
        self.flops = defaultdict(int)

    @classmethod
    def _should_skip_dynamo(cls):
        # Without this override, entering any TorchDispatchMode imports torch._dynamo (1-2 s).
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        """Run func(*args, **kwargs), count its FLOPs if it is one of the five ops, return its result."""
        raise NotImplementedError("flop_mode.py: FlopCounter.__torch_dispatch__()")

    def total(self) -> int:
        """All FLOPs counted so far."""
        raise NotImplementedError("flop_mode.py: FlopCounter.total()")
