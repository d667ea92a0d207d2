"""Wrong control: counts multiply-adds (m * k * n), not FLOPs: every count is half torch's."""
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
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        op = func.overloadpacket
        if op is aten.mm:
            (m, k), (_, n) = args[0].shape, args[1].shape
            self.flops["mm"] += m * k * n
        elif op is aten.addmm:  # addmm(bias, a, b): the bias add is not counted (as torch's counter)
            (m, k), (_, n) = args[1].shape, args[2].shape
            self.flops["addmm"] += m * k * n
        elif op is aten.bmm:
            (b, m, k), (_, _, n) = args[0].shape, args[1].shape
            self.flops["bmm"] += b * m * k * n
        elif op is aten.baddbmm:
            (b, m, k), (_, _, n) = args[1].shape, args[2].shape
            self.flops["baddbmm"] += b * m * k * n
        elif op is aten.convolution:
            # Each output element is a dot product over weight[o] (in_channels / groups * kernel elements).
            weight = args[1]
            self.flops["convolution"] += out.numel() * weight[0].numel()
        return out

    def total(self) -> int:
        return sum(self.flops.values())
