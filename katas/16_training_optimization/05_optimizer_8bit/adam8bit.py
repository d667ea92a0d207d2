"""Adam with its two moment estimates stored in 8 bits per value, block-wise scaled. See README.md."""
import math  # noqa: F401

import torch


def dynamic_code():
    """Given (do not change): the 253 distinct values an 8-bit code can stand for, sorted, in [-1, 1]:
    the finite fp8 e4m3 values divided by 448. Dense near 0 and sparse near +-1, like a float: about 6%
    relative precision over five decades. Index i (stored as a uint8) stands for dynamic_code()[i]."""
    vals = torch.arange(256, dtype=torch.int64).to(torch.uint8).view(torch.float8_e4m3fn).float()
    vals = torch.unique(vals[torch.isfinite(vals)])   # sorted; +0 and -0 collapse
    return vals / 448.0


def quantize_blockwise(x, block_size, code):
    """Split x.reshape(-1) into blocks of block_size consecutive elements (the last may be shorter).
    For each block, absmax = max |x| over the block; each element becomes the index of the code value
    nearest to x / absmax. Returns (codes: uint8 tensor of x.numel() elements, absmax: float32 tensor
    with one value per block). An all-zero block must give codes for 0, not NaN."""
    raise NotImplementedError("adam8bit.py: quantize_blockwise()")


def dequantize_blockwise(codes, absmax, shape, block_size, code):
    """code[codes] * absmax of each element's block, as a float32 tensor of `shape`."""
    raise NotImplementedError("adam8bit.py: dequantize_blockwise()")


class Adam8bit:
    """Adam (Kingma and Ba, with bias correction; no weight decay) whose first and second moments live
    between steps only as block-wise 8-bit codes: self.state[p] = {"step": int, "m": (codes, absmax),
    "v": (codes, absmax)} with codes and absmax as returned by quantize_blockwise(..., self.code)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, block_size=64):
        raise NotImplementedError("adam8bit.py: Adam8bit.__init__()")

    def zero_grad(self):
        raise NotImplementedError("adam8bit.py: Adam8bit.zero_grad()")

    def step(self):
        """For every parameter with a gradient: dequantize m and v (zeros on the first step), update them
        in float32, take the Adam step, quantize them back into self.state[p]."""
        raise NotImplementedError("adam8bit.py: Adam8bit.step()")
