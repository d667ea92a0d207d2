"""Naive control: the unfused LoRA forward in four kernels: y = x @ W.T; t = x @ A.T (M, r);
d = t @ B.T into a y-sized temporary; y += (alpha / r) * d. Correct, but y is written twice and read
once more, the temporary is written and read, and it costs a second y-sized allocation."""
import torch
import triton
import triton.language as tl

BM, BN, BK = 64, 64, 32


@triton.jit
def _mm_kernel(a_ptr, b_ptr, c_ptr, M, N, K, sam, sak, sbn, sbk,
               BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """c (M, N) contiguous = a (M, K) @ b (N, K).T"""
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        kk = k + rk
        a = tl.load(a_ptr + rm[:, None].to(tl.int64) * sam + kk[None, :] * sak,
                    mask=(rm[:, None] < M) & (kk[None, :] < K), other=0.0)
        b = tl.load(b_ptr + kk[:, None] * sbk + rn[None, :].to(tl.int64) * sbn,
                    mask=(kk[:, None] < K) & (rn[None, :] < N), other=0.0)
        acc += tl.dot(a, b)
    tl.store(c_ptr + rm[:, None].to(tl.int64) * N + rn[None, :], acc.to(c_ptr.dtype.element_ty),
             mask=(rm[:, None] < M) & (rn[None, :] < N))


@triton.jit
def _axpy_kernel(y_ptr, d_ptr, n, scale, BLOCK: tl.constexpr):
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    y = tl.load(y_ptr + i, mask=i < n).to(tl.float32)
    d = tl.load(d_ptr + i, mask=i < n).to(tl.float32)
    tl.store(y_ptr + i, (y + scale * d).to(y_ptr.dtype.element_ty), mask=i < n)


def lora_forward(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    M, K = x.shape
    N, R = W.shape[0], A.shape[0]
    y = torch.empty((M, N), dtype=x.dtype, device=x.device)
    if M and N:
        Rp = max(16, triton.next_power_of_2(R))
        _mm_kernel[(triton.cdiv(M, BM), triton.cdiv(N, BN))](x, W, y, M, N, K, *x.stride(), *W.stride(),
                                                             BLOCK_M=BM, BLOCK_N=BN, BLOCK_K=BK)
        Ap = torch.zeros((Rp, K), dtype=A.dtype, device=A.device)
        Ap[:R].copy_(A)
        t = torch.empty((M, Rp), dtype=torch.float32, device=x.device)          # x @ A.T, float32
        _mm_kernel[(triton.cdiv(M, BM), 1)](x, Ap, t, M, Rp, K, *x.stride(), *Ap.stride(),
                                            BLOCK_M=BM, BLOCK_N=Rp, BLOCK_K=BK)
        Bp = torch.zeros((N, Rp), dtype=torch.float32, device=B.device)
        Bp[:, :R].copy_(B)
        d = torch.empty((M, N), dtype=torch.float32, device=x.device)           # the y-sized temporary
        _mm_kernel[(triton.cdiv(M, BM), triton.cdiv(N, BN))](t, Bp, d, M, N, Rp, *t.stride(), *Bp.stride(),
                                                             BLOCK_M=BM, BLOCK_N=BN, BLOCK_K=16)
        _axpy_kernel[(triton.cdiv(M * N, 1024),)](y, d, M * N, alpha / R, BLOCK=1024)
    return y
