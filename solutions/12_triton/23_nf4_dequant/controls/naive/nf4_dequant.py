"""Naive control: two kernels. The first unpacks every nibble into an int32 codes tensor (four bytes per
element, written and read back); the second looks each code up in a 16-entry table in memory and loads
the element's absmax, both once per element. Correct, but it moves codes through memory and reads the
table and the scales n times each."""
import torch
import triton
import triton.language as tl

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]
BLOCK = 1024


@triton.jit
def _unpack_kernel(packed_ptr, codes_ptr, n, BLOCK: tl.constexpr):
    j = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    b = tl.load(packed_ptr + j // 2, mask=j < n, other=0)
    c = tl.where(j % 2 == 0, b >> 4, b & 15).to(tl.int32)
    tl.store(codes_ptr + j, c, mask=j < n)


@triton.jit
def _lookup_kernel(codes_ptr, table_ptr, absmax_ptr, out_ptr, n, BLOCKSIZE: tl.constexpr, BLOCK: tl.constexpr):
    j = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    c = tl.load(codes_ptr + j, mask=j < n, other=0).to(tl.int32)
    v = tl.load(table_ptr + c, mask=j < n, other=0.0)
    am = tl.load(absmax_ptr + j // BLOCKSIZE, mask=j < n, other=0.0)
    tl.store(out_ptr + j, (v * am).to(out_ptr.dtype.element_ty), mask=j < n)


def nf4_dequant(packed: torch.Tensor, absmax: torch.Tensor, n: int, blocksize: int = 64,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    packed, absmax = packed.contiguous(), absmax.contiguous()
    out = torch.empty((n,), dtype=dtype, device=packed.device)
    if n:
        table = torch.tensor(NF4, dtype=torch.float32, device=packed.device)
        codes = torch.empty((n,), dtype=torch.int32, device=packed.device)  # a plain int per code
        grid = (triton.cdiv(n, BLOCK),)
        _unpack_kernel[grid](packed, codes, n, BLOCK=BLOCK)
        _lookup_kernel[grid](codes, table, absmax, out, n, BLOCKSIZE=blocksize, BLOCK=BLOCK)
    return out
