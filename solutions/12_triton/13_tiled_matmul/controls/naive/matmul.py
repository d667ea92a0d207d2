"""Naive control: correct, but untiled. Each program computes BLOCK_N outputs of ONE row of C with
broadcast-multiply and tl.sum (no tl.dot, so no Tensor Cores on a GPU), and B is read once per row of C
instead of once per BLOCK_M rows."""
import torch
import triton
import triton.language as tl

CONFIGS = []


@triton.jit
def row_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
               BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        k_ok = (k0 + ks) < K
        a = tl.load(a_ptr + row * stride_am + (k0 + ks) * stride_ak, mask=k_ok, other=0.0).to(tl.float32)
        b = tl.load(b_ptr + (k0 + ks)[:, None] * stride_bk + cols[None, :] * stride_bn,
                    mask=k_ok[:, None] & (cols[None, :] < N), other=0.0).to(tl.float32)
        acc += tl.sum(a[:, None] * b, axis=0)
    tl.store(c_ptr + row * stride_cm + cols * stride_cn, acc.to(c_ptr.dtype.element_ty), mask=cols < N)


def matmul(a, b, config=None):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError("matmul: need (M, K) @ (K, N)")
    (M, K), N = a.shape, b.shape[1]
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    if M == 0 or N == 0:
        return c
    block_n, block_k = 64, 32
    row_kernel[(M, triton.cdiv(N, block_n))](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                                             c.stride(0), c.stride(1), BLOCK_N=block_n, BLOCK_K=block_k)
    return c
