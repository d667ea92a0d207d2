"""Row-wise inclusive prefix sums in Triton, rows longer than a block  (naive control).

Correct, but each chunk recomputes its carry by reading the whole row to its left again: the row is
read about (chunks + 1) / 2 times instead of once."""
import torch
import triton
import triton.language as tl

BLOCK_N = 256


@triton.jit
def cumsum_kernel(x_ptr, out_ptr, N, stride_xm, stride_xn, ACC: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program pid writes the prefix sums of row pid of x into row pid of out (row-major, N wide)."""
    row = tl.program_id(0).to(tl.int64)
    carry = tl.zeros([1], dtype=ACC)           # the sum of everything left of the current chunk
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        mask = cols < N
        v = tl.load(x_ptr + row * stride_xm + cols * stride_xn, mask=mask, other=0).to(ACC)
        carry = tl.zeros([1], dtype=ACC)
        for prev in range(0, start, BLOCK_N):  # re-read everything left of this chunk
            p = tl.load(x_ptr + row * stride_xm + (prev + tl.arange(0, BLOCK_N)) * stride_xn).to(ACC)
            carry += tl.sum(p, axis=0)
        s = tl.cumsum(v, axis=0) + carry
        tl.store(out_ptr + row * N + cols, s, mask=mask)


def cumsum_rows(x: torch.Tensor) -> torch.Tensor:
    """out[i, j] = x[i, 0] + ... + x[i, j]; a new row-major tensor (fp32 for fp32/fp16 x, int32 for int32)."""
    if x.dim() != 2 or x.dtype not in (torch.float32, torch.float16, torch.int32):
        raise ValueError(f"cumsum_rows: need a 2-D fp32, fp16 or int32 tensor, got {tuple(x.shape)} {x.dtype}")
    M, N = x.shape
    is_int = x.dtype == torch.int32
    out = torch.empty((M, N), dtype=torch.int32 if is_int else torch.float32, device=x.device)
    if M and N:
        cumsum_kernel[(M,)](x, out, N, x.stride(0), x.stride(1), ACC=tl.int32 if is_int else tl.float32,
                            BLOCK_N=BLOCK_N)
    return out
