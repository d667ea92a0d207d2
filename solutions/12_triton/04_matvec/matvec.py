"""Matrix-vector product in Triton: y = A @ x, A read once (reference)."""
import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N = 32, 64


@triton.jit
def matvec_kernel(a_ptr, x_ptr, y_ptr, M, N, stride_am, stride_an,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program pid computes y[pid*BLOCK_M : pid*BLOCK_M + BLOCK_M]."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    acc = tl.zeros([BLOCK_M], dtype=tl.float32)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        a = tl.load(a_ptr + rows[:, None] * stride_am + cols[None, :] * stride_an,
                    mask=(rows[:, None] < M) & (cols[None, :] < N), other=0.0)
        x = tl.load(x_ptr + cols, mask=cols < N, other=0.0)   # one chunk of x serves BLOCK_M rows
        acc += tl.sum(a.to(tl.float32) * x.to(tl.float32)[None, :], axis=1)
    tl.store(y_ptr + rows, acc, mask=rows < M)


def matvec(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """y = a @ x as float32, for a 2-D a with any strides and a 1-D x."""
    if a.dim() != 2 or x.dim() != 1 or a.shape[1] != x.shape[0] or a.dtype != x.dtype:
        raise ValueError(f"matvec: need a (M, N) and x (N,) of one dtype, got {tuple(a.shape)} {a.dtype} "
                         f"and {tuple(x.shape)} {x.dtype}")
    M, N = a.shape
    x = x.contiguous()
    y = torch.empty(M, dtype=torch.float32, device=a.device)
    if M:
        matvec_kernel[(triton.cdiv(M, BLOCK_M),)](a, x, y, M, N, a.stride(0), a.stride(1),
                                                  BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N)
    return y
