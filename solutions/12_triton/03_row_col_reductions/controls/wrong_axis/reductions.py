"""Row sums and column sums of a 2-D tensor in Triton (wrong control).

col_sums reduces the tile over axis 1 (across the columns) instead of axis 0: with square tiles the
shapes still fit, so it compiles and returns sums of row pieces instead of column sums."""
import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N = 32, 32


@triton.jit
def row_sum_kernel(x_ptr, out_ptr, M, N, stride_m, stride_n, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program pid sums rows pid*BLOCK_M.., walking along the row in BLOCK_N-wide chunks."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    acc = tl.zeros([BLOCK_M], dtype=tl.float32)          # once, before the loop
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        mask = (rows[:, None] < M) & (cols[None, :] < N)
        tile = tl.load(x_ptr + rows[:, None] * stride_m + cols[None, :] * stride_n, mask=mask, other=0.0)
        acc += tl.sum(tile.to(tl.float32), axis=1)       # across the columns: one sum per row
    tl.store(out_ptr + rows, acc, mask=rows < M)


@triton.jit
def col_sum_kernel(x_ptr, out_ptr, M, N, stride_m, stride_n, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program pid sums columns pid*BLOCK_N.., walking down the columns in BLOCK_M-tall chunks."""
    cols = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros([BLOCK_N], dtype=tl.float32)
    for start in range(0, M, BLOCK_M):
        rows = start + tl.arange(0, BLOCK_M)
        mask = (rows[:, None] < M) & (cols[None, :] < N)
        tile = tl.load(x_ptr + rows[:, None] * stride_m + cols[None, :] * stride_n, mask=mask, other=0.0)
        acc += tl.sum(tile.to(tl.float32), axis=1)       # the wrong axis
    tl.store(out_ptr + cols, acc, mask=cols < N)


def _check(x: torch.Tensor, name: str) -> None:
    if x.dim() != 2:
        raise ValueError(f"{name}: x must be 2-D, got shape {tuple(x.shape)}")


def row_sums(x: torch.Tensor) -> torch.Tensor:
    """out[i] = sum_j x[i, j], float32, for a 2-D x with any strides."""
    _check(x, "row_sums")
    M, N = x.shape
    out = torch.empty(M, dtype=torch.float32, device=x.device)
    if M:
        row_sum_kernel[(triton.cdiv(M, BLOCK_M),)](x, out, M, N, x.stride(0), x.stride(1),
                                                   BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N)
    return out


def col_sums(x: torch.Tensor) -> torch.Tensor:
    """out[j] = sum_i x[i, j], float32, for a 2-D x with any strides."""
    _check(x, "col_sums")
    M, N = x.shape
    out = torch.empty(N, dtype=torch.float32, device=x.device)
    if N:
        col_sum_kernel[(triton.cdiv(N, BLOCK_N),)](x, out, M, N, x.stride(0), x.stride(1),
                                                   BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N)
    return out
