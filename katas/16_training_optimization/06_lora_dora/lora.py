"""LoRA and DoRA adapters around a frozen nn.Linear. See README.md."""
import math  # noqa: F401

import torch
from torch import nn


class LoRALinear(nn.Module):
    """y = base(x) + (alpha / r) * x A^T B^T with A (r, in), B (out, r).

    The base layer's parameters are frozen (requires_grad False); A and B are the only trainable
    parameters (attributes named A and B). A: nn.init.kaiming_uniform_(A, a=math.sqrt(5)); B: zeros.
    merge() folds the update into base.weight (forward is then just base(x)); unmerge() takes it out."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        raise NotImplementedError("lora.py: LoRALinear.__init__()")

    def delta_weight(self):
        """The (out, in) update the adapter adds to base.weight: (alpha / r) * B @ A."""
        raise NotImplementedError("lora.py: LoRALinear.delta_weight()")

    def forward(self, x):
        raise NotImplementedError("lora.py: LoRALinear.forward()")

    def merge(self):
        raise NotImplementedError("lora.py: LoRALinear.merge()")

    def unmerge(self):
        raise NotImplementedError("lora.py: LoRALinear.unmerge()")


class DoRALinear(LoRALinear):
    """DoRA: W' = m * V / ||V|| with V = W0 + (alpha / r) B A, the norm taken per output feature (over the
    input dimension: one norm per row of the (out, in) weight), and m (out,) a trainable magnitude
    initialised to the row norms of W0 (so W' == W0 at initialisation). y = x W'^T + bias.
    Gradients flow through the norm (do not detach it). merge() writes W' into base.weight; unmerge()
    restores W0 exactly."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__(base, r, alpha)
        raise NotImplementedError("lora.py: DoRALinear.__init__()")

    def adapted_weight(self):
        raise NotImplementedError("lora.py: DoRALinear.adapted_weight()")

    def forward(self, x):
        raise NotImplementedError("lora.py: DoRALinear.forward()")

    def merge(self):
        raise NotImplementedError("lora.py: DoRALinear.merge()")

    def unmerge(self):
        raise NotImplementedError("lora.py: DoRALinear.unmerge()")
