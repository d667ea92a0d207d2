"""Wrong control: random numbers at column offsets only, so every row shares one dropout mask.

y = dropout(gelu(x + bias), p) in one Triton kernel: x and bias read once, y written once, the dropout
mask generated in registers from (seed, position) and never stored (reference). See README.md."""
import torch
import triton
import triton.language as tl

BLOCK_M = 8     # rows per tile: the bias slice is loaded once per tile and broadcast over its rows
BLOCK_Q = 128   # columns per quarter: a tile is 4 quarters (512 columns), one Philox call per 4 elements
INV_SQRT2 = tl.constexpr(0.7071067811865476)  # a compiled kernel reads only constexpr globals


@triton.jit
def _quarter(x_ptr, b_ptr, y_ptr, r, rows, cols, n_rows, n_cols, stride_xm, stride_xn, stride_b, p, scale):
    """bias + exact GELU + dropout on the BLOCK_M x BLOCK_Q block (rows, cols), with uniforms r."""
    col_ok = cols < n_cols
    mask = (rows[:, None] < n_rows) & col_ok[None, :]
    rows64 = rows.to(tl.int64)[:, None]  # row * stride can pass 2^31 on a large tensor
    x = tl.load(x_ptr + rows64 * stride_xm + cols[None, :] * stride_xn, mask=mask).to(tl.float32)
    b = tl.load(b_ptr + cols * stride_b, mask=col_ok).to(tl.float32)  # once per tile, not per row
    h = x + b[None, :]
    g = 0.5 * h * (1.0 + tl.erf(h * INV_SQRT2))       # exact (erf) GELU, as F.gelu
    y = tl.where(r >= p, g * scale, 0.0)                # keep with probability 1 - p, rescaled
    tl.store(y_ptr + rows64 * n_cols + cols[None, :], y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def bias_gelu_dropout_kernel(x_ptr, b_ptr, y_ptr, n_rows, n_cols, stride_xm, stride_xn, stride_b,
                             p, scale, seed, n_counters,
                             BLOCK_M: tl.constexpr, BLOCK_Q: tl.constexpr):
    """Tile (pid_m, pid_n): rows pid_m*BLOCK_M.., columns pid_n*4*BLOCK_Q.. as four quarters of BLOCK_Q.

    Element (i, pid_n*4*BLOCK_Q + k*BLOCK_Q + q) takes lane k of Philox counter i*n_counters +
    pid_n*BLOCK_Q + q: a function of the seed and the position only (not of x's layout), and every
    element has its own (counter, lane)."""
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    q = pid_n * BLOCK_Q + tl.arange(0, BLOCK_Q)
    r0, r1, r2, r3 = tl.rand4x(seed, q[None, :] + 0 * rows[:, None])  # WRONG: the same counters in every row
    c = pid_n * 4 * BLOCK_Q + tl.arange(0, BLOCK_Q)
    _quarter(x_ptr, b_ptr, y_ptr, r0, rows, c, n_rows, n_cols, stride_xm, stride_xn, stride_b, p, scale)
    _quarter(x_ptr, b_ptr, y_ptr, r1, rows, c + BLOCK_Q, n_rows, n_cols, stride_xm, stride_xn, stride_b, p, scale)
    _quarter(x_ptr, b_ptr, y_ptr, r2, rows, c + 2 * BLOCK_Q, n_rows, n_cols, stride_xm, stride_xn, stride_b, p,
             scale)
    _quarter(x_ptr, b_ptr, y_ptr, r3, rows, c + 3 * BLOCK_Q, n_rows, n_cols, stride_xm, stride_xn, stride_b, p,
             scale)


def bias_gelu_dropout(x: torch.Tensor, bias: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    """dropout(gelu(x + bias), p) for x (rows, cols) and bias (cols,): a new contiguous (rows, cols) tensor."""
    if x.ndim != 2 or bias.ndim != 1 or bias.shape[0] != x.shape[1]:
        raise ValueError(f"bias_gelu_dropout: x must be (rows, cols) and bias (cols,), got x {tuple(x.shape)} "
                         f"and bias {tuple(bias.shape)}")
    if x.dtype != bias.dtype or x.device != bias.device:
        raise ValueError(f"bias_gelu_dropout: x and bias must share dtype and device, got {x.dtype} {x.device} "
                         f"and {bias.dtype} {bias.device}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"bias_gelu_dropout: p must be in [0, 1), got {p}")
    n_rows, n_cols = x.shape
    y = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    n_counters = triton.cdiv(n_cols, 4 * BLOCK_Q) * BLOCK_Q   # Philox counters per row
    if n_rows * n_counters >= 2**31:
        raise ValueError("bias_gelu_dropout: tensor too large for 32-bit Philox counters")
    grid = (triton.cdiv(n_rows, BLOCK_M), triton.cdiv(n_cols, 4 * BLOCK_Q))
    bias_gelu_dropout_kernel[grid](x, bias, y, n_rows, n_cols, x.stride(0), x.stride(1), bias.stride(0),
                                   float(p), 1.0 / (1.0 - p), int(seed), n_counters,
                                   BLOCK_M=BLOCK_M, BLOCK_Q=BLOCK_Q)
    return y
