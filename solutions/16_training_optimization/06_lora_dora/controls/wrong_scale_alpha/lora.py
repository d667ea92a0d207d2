"""Wrong control: scales the update by alpha instead of alpha / r."""
"""LoRA and DoRA adapters around a frozen nn.Linear. See README.md."""
import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.r, self.alpha, self.scaling = r, alpha, alpha
        w = base.weight
        self.A = nn.Parameter(torch.empty(r, base.in_features, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, dtype=w.dtype))
        self.merged = False

    def delta_weight(self):
        return self.scaling * (self.B @ self.A)

    def forward(self, x):
        y = self.base(x)
        if self.merged:
            return y
        return y + self.scaling * ((x @ self.A.t()) @ self.B.t())

    @torch.no_grad()
    def merge(self):
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self):
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False


class DoRALinear(LoRALinear):
    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__(base, r, alpha)
        self.m = nn.Parameter(base.weight.detach().norm(dim=1).clone())   # one magnitude per output feature
        self._w0 = None

    def adapted_weight(self):
        w = self.base.weight + self.delta_weight()
        return self.m[:, None] * w / w.norm(dim=1, keepdim=True)

    def forward(self, x):
        if self.merged:
            return self.base(x)
        return nn.functional.linear(x, self.adapted_weight(), self.base.bias)

    @torch.no_grad()
    def merge(self):
        if not self.merged:
            self._w0 = self.base.weight.clone()
            self.base.weight.copy_(self.adapted_weight())
            self.merged = True

    @torch.no_grad()
    def unmerge(self):
        if self.merged:
            self.base.weight.copy_(self._w0)
            self._w0 = None
            self.merged = False
