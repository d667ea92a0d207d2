"""Wrong control: the rank dimension of A and B is loaded without a mask. Right when r is a power of two
of at least 16; for r = 8 the padding lanes read past A and B (the next rows of memory)."""
import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N, BLOCK_K = 128, 128, 64


@triton.jit
def lora_kernel(x_ptr, w_ptr, a_ptr, b_ptr, y_ptr, M, N, K, R, scale,
                stride_xm, stride_xk, stride_wn, stride_wk, stride_ar, stride_ak, stride_bn, stride_br,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_R: tl.constexpr):
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    rr = tl.arange(0, BLOCK_R)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    xa = tl.zeros((BLOCK_M, BLOCK_R), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        kk = k + rk
        x = tl.load(x_ptr + rm[:, None].to(tl.int64) * stride_xm + kk[None, :] * stride_xk,
                    mask=(rm[:, None] < M) & (kk[None, :] < K), other=0.0)
        w = tl.load(w_ptr + kk[:, None] * stride_wk + rn[None, :].to(tl.int64) * stride_wn,
                    mask=(kk[:, None] < K) & (rn[None, :] < N), other=0.0)
        a = tl.load(a_ptr + kk[:, None] * stride_ak + rr[None, :] * stride_ar,
                    mask=(kk[:, None] < K), other=0.0)
        acc += tl.dot(x, w)
        xa += tl.dot(x, a)
    b = tl.load(b_ptr + rr[:, None] * stride_br + rn[None, :].to(tl.int64) * stride_bn,
                mask=(rn[None, :] < N), other=0.0)
    acc += scale * tl.dot(xa, b.to(tl.float32))  # xa stays float32: rounding it to fp16 costs accuracy
    tl.store(y_ptr + rm[:, None].to(tl.int64) * N + rn[None, :], acc.to(y_ptr.dtype.element_ty),
             mask=(rm[:, None] < M) & (rn[None, :] < N))


def lora_forward(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    M, K = x.shape
    N, R = W.shape[0], A.shape[0]
    if W.shape != (N, K) or A.shape != (R, K) or B.shape != (N, R) or not (x.dtype == W.dtype == A.dtype == B.dtype):
        raise ValueError(f"lora_forward: shapes/dtypes do not fit: x {tuple(x.shape)}, W {tuple(W.shape)}, "
                         f"A {tuple(A.shape)}, B {tuple(B.shape)}")
    if not 1 <= R <= 128:
        raise ValueError(f"lora_forward: rank r must be 1..128, got {R}")
    y = torch.empty((M, N), dtype=x.dtype, device=x.device)
    if M and N:
        grid = (triton.cdiv(M, BLOCK_M), triton.cdiv(N, BLOCK_N))
        lora_kernel[grid](x, W, A, B, y, M, N, K, R, alpha / R, *x.stride(), *W.stride(), *A.stride(), *B.stride(),
                          BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K,
                          BLOCK_R=max(16, triton.next_power_of_2(R)), num_warps=8, num_stages=3)
    return y
