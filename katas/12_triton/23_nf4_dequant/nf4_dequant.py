"""NF4 dequantization in Triton (the 4-bit NormalFloat format of QLoRA / bitsandbytes).

nf4_dequant(packed, absmax, n, blocksize, dtype) -> out (n,)
    element j has the 4-bit code c_j: byte j // 2 holds c_{2i} in its HIGH nibble and c_{2i+1} in its low
    nibble; out[j] = NF4[c_j] * absmax[j // blocksize]
Test with:  python -m pytest katas/12_triton/23_nf4_dequant
"""
import torch
import triton
import triton.language as tl

# The 16 NF4 code values (bitsandbytes), in code order 0..15.
NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]


@triton.jit
def nf4_dequant_kernel(packed_ptr, absmax_ptr, out_ptr, n, BLOCK: tl.constexpr, BLOCKSIZE: tl.constexpr):
    """One program dequantizes BLOCK bytes, that is 2 * BLOCK elements."""
    pass


def nf4_dequant(packed: torch.Tensor, absmax: torch.Tensor, n: int, blocksize: int = 64,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """packed (ceil(n / 2),) uint8, absmax (ceil(n / blocksize),) float32 -> out (n,) of dtype."""
    raise NotImplementedError("nf4_dequant.py: nf4_dequant()")
