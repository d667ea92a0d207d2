"""Wrong control: accumulates in int16. Sums of K products up to 127 * 127 wrap around."""
import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N, BLOCK_K = 128, 128, 128


@triton.jit
def int8_matmul_kernel(a_ptr, b_ptr, as_ptr, bs_ptr, c_ptr, M, N, K,
                       stride_am, stride_ak, stride_bn, stride_bk,
                       BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + rm[:, None].to(tl.int64) * stride_am + rk[None, :] * stride_ak
    b_ptrs = b_ptr + rk[:, None] * stride_bk + rn[None, :].to(tl.int64) * stride_bn
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.int16)  # WRONG: too narrow
    for k in range(0, K, BLOCK_K):
        a = tl.load(a_ptrs, mask=(rm[:, None] < M) & (rk[None, :] + k < K), other=0)
        b = tl.load(b_ptrs, mask=(rk[:, None] + k < K) & (rn[None, :] < N), other=0)
        acc += tl.dot(a, b).to(tl.int16)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk
    sa = tl.load(as_ptr + rm, mask=rm < M, other=0.0)
    sb = tl.load(bs_ptr + rn, mask=rn < N, other=0.0)
    out = acc.to(tl.float32) * sa[:, None] * sb[None, :]
    c_ptrs = c_ptr + rm[:, None].to(tl.int64) * N + rn[None, :]
    tl.store(c_ptrs, out.to(c_ptr.dtype.element_ty), mask=(rm[:, None] < M) & (rn[None, :] < N))


def int8_matmul(a_q: torch.Tensor, a_scale: torch.Tensor, b_q: torch.Tensor, b_scale: torch.Tensor,
                out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    if a_q.dtype != torch.int8 or b_q.dtype != torch.int8 or a_q.dim() != 2 or b_q.dim() != 2 \
            or a_q.shape[1] != b_q.shape[1]:
        raise ValueError(f"int8_matmul: a_q (M, K) and b_q (N, K) must be int8 with the same K, got "
                         f"{tuple(a_q.shape)} {a_q.dtype} and {tuple(b_q.shape)} {b_q.dtype}")
    M, K = a_q.shape
    N = b_q.shape[0]
    a_scale, b_scale = a_scale.contiguous(), b_scale.contiguous()
    out = torch.empty((M, N), dtype=out_dtype, device=a_q.device)
    if M and N:
        grid = (triton.cdiv(M, BLOCK_M), triton.cdiv(N, BLOCK_N))
        int8_matmul_kernel[grid](a_q, b_q, a_scale, b_scale, out, M, N, K, *a_q.stride(), *b_q.stride(),
                                 BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K, num_warps=8, num_stages=3)
    return out
