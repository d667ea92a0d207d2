"""Transpose in Triton with 2-D blocks and strides: out = x.T, a new row-major tensor  (wrong control).

Ignores x's strides and reads it as row-major (row stride N): right for a contiguous x, wrong for a
transposed or sliced one."""
import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N = 32, 32


@triton.jit
def transpose_kernel(x_ptr, out_ptr, M, N, stride_xm, stride_xn,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (pid_m, pid_n) moves the tile x[rows, cols] to out[cols, rows]."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    tile = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=mask)
    # out is (N, M) row-major: out[j, i] lives at j * M + i.
    tl.store(out_ptr + cols[None, :] * M + rows[:, None], tile, mask=mask)


def transpose(x: torch.Tensor) -> torch.Tensor:
    """A new contiguous (N, M) tensor equal to x.T, for a 2-D x with any strides."""
    if x.dim() != 2:
        raise ValueError(f"transpose: x must be 2-D, got shape {tuple(x.shape)}")
    M, N = x.shape
    out = torch.empty((N, M), dtype=x.dtype, device=x.device)
    if M and N:
        grid = (triton.cdiv(M, BLOCK_M), triton.cdiv(N, BLOCK_N))
        transpose_kernel[grid](x, out, M, N, x.stride(0), x.stride(1), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N)
    return out
