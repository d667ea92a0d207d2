"""The outer product in Triton: out[i, j] = x[i] * y[j], one 2-D tile per program (reference)."""
import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N = 32, 64


@triton.jit
def outer_kernel(x_ptr, y_ptr, out_ptr, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (pid_m, pid_n) writes the tile of rows pid_m*BLOCK_M.. and columns pid_n*BLOCK_N.. of out."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)   # [BLOCK_M]
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)   # [BLOCK_N]
    x = tl.load(x_ptr + rows, mask=rows < M)
    y = tl.load(y_ptr + cols, mask=cols < N)
    tile = x[:, None] * y[None, :]                               # [BLOCK_M, 1] * [1, BLOCK_N]
    # Row-major: element (i, j) lives at i * N + j. The tile's mask is the outer "and" of both masks.
    ptrs = out_ptr + rows[:, None] * N + cols[None, :]
    tl.store(ptrs, tile, mask=(rows[:, None] < M) & (cols[None, :] < N))


def outer(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A new (len(x), len(y)) tensor, row-major, with out[i, j] = x[i] * y[j]."""
    if x.dim() != 1 or y.dim() != 1 or x.dtype != y.dtype or x.device != y.device:
        raise ValueError(f"outer: x and y must be 1-D of one dtype and device, got {tuple(x.shape)} {x.dtype} "
                         f"and {tuple(y.shape)} {y.dtype}")
    x, y = x.contiguous(), y.contiguous()
    M, N = x.numel(), y.numel()
    out = torch.empty((M, N), dtype=x.dtype, device=x.device)
    if M and N:
        grid = (triton.cdiv(M, BLOCK_M), triton.cdiv(N, BLOCK_N))
        outer_kernel[grid](x, y, out, M, N, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N)
    return out
