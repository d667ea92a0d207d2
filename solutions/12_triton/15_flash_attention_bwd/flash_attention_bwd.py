"""Flash attention backward in Triton (reference): dQ, dK, dV from Q, K, V, O, dO and the forward's
log-sum-exp, recomputing the probabilities block by block instead of storing any N x N matrix.

Every tensor is made contiguous, (B*H, N, HEAD_DIM) in memory, so a head's rows are HEAD_DIM apart."""
import math

import torch
import triton
import triton.language as tl


@triton.jit
def bwd_preprocess_kernel(o_ptr, do_ptr, delta_ptr, N, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr):
    """delta[row] = sum over d of O[row, d] * dO[row, d], in fp32."""
    bh = tl.program_id(1).to(tl.int64)
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    ptrs = bh * N * HEAD_DIM + offs_m[:, None] * HEAD_DIM + offs_d[None, :]
    mask = offs_m[:, None] < N
    o = tl.load(o_ptr + ptrs, mask=mask, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + ptrs, mask=mask, other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh * N + offs_m, tl.sum(o * do, axis=1), mask=offs_m < N)


@triton.jit
def bwd_dkdv_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr, sm_scale, N,
                    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
    """One block of BLOCK_N keys of one head: loop over query blocks, accumulate dK and dV."""
    bh = tl.program_id(1).to(tl.int64)
    base = bh * N * HEAD_DIM
    offs_n = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    kv_ptrs = base + offs_n[:, None] * HEAD_DIM + offs_d[None, :]
    k = tl.load(k_ptr + kv_ptrs, mask=offs_n[:, None] < N, other=0.0)
    v = tl.load(v_ptr + kv_ptrs, mask=offs_n[:, None] < N, other=0.0)
    dk = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    lo = 0
    if CAUSAL:
        lo = (tl.program_id(0) * BLOCK_N // BLOCK_M) * BLOCK_M  # earlier queries cannot see these keys
    for start_m in range(lo, N, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        q_ptrs = base + offs_m[:, None] * HEAD_DIM + offs_d[None, :]
        q = tl.load(q_ptr + q_ptrs, mask=offs_m[:, None] < N, other=0.0)
        do = tl.load(do_ptr + q_ptrs, mask=offs_m[:, None] < N, other=0.0)
        lse = tl.load(lse_ptr + bh * N + offs_m, mask=offs_m < N, other=0.0)
        delta = tl.load(delta_ptr + bh * N + offs_m, mask=offs_m < N, other=0.0)
        # Transposed scores, (BLOCK_N, BLOCK_M): row j of this block is key j against every query.
        s_t = tl.dot(k, tl.trans(q)) * sm_scale
        valid = (offs_m[None, :] < N) & (offs_n[:, None] < N)
        if CAUSAL:
            valid = valid & (offs_m[None, :] >= offs_n[:, None])
        p_t = tl.where(valid, tl.exp(s_t - lse[None, :]), 0.0)   # P^T, recomputed from the saved LSE
        dv += tl.dot(p_t.to(do.dtype), do)                       # dV = P^T dO
        dp_t = tl.dot(v, tl.trans(do))                            # dP^T = V dO^T
        ds_t = p_t * (dp_t - delta[None, :])                      # dS = P * (dP - rowsum(dO * O))
        dk += tl.dot(ds_t.to(q.dtype), q)                         # dK = dS^T Q (times the scale, below)
    tl.store(dk_ptr + kv_ptrs, (dk * sm_scale).to(dk_ptr.dtype.element_ty), mask=offs_n[:, None] < N)
    tl.store(dv_ptr + kv_ptrs, dv.to(dv_ptr.dtype.element_ty), mask=offs_n[:, None] < N)


@triton.jit
def bwd_dq_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr, sm_scale, N,
                  HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
    """One block of BLOCK_M queries of one head: loop over key blocks, accumulate dQ."""
    bh = tl.program_id(1).to(tl.int64)
    base = bh * N * HEAD_DIM
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    q_ptrs = base + offs_m[:, None] * HEAD_DIM + offs_d[None, :]
    q = tl.load(q_ptr + q_ptrs, mask=offs_m[:, None] < N, other=0.0)
    do = tl.load(do_ptr + q_ptrs, mask=offs_m[:, None] < N, other=0.0)
    lse = tl.load(lse_ptr + bh * N + offs_m, mask=offs_m < N, other=0.0)
    delta = tl.load(delta_ptr + bh * N + offs_m, mask=offs_m < N, other=0.0)
    dq = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    hi = N
    if CAUSAL:
        hi = tl.minimum((tl.program_id(0) + 1) * BLOCK_M, N)
    for start_n in range(0, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        kv_ptrs = base + offs_n[:, None] * HEAD_DIM + offs_d[None, :]
        k = tl.load(k_ptr + kv_ptrs, mask=offs_n[:, None] < N, other=0.0)
        v = tl.load(v_ptr + kv_ptrs, mask=offs_n[:, None] < N, other=0.0)
        s = tl.dot(q, tl.trans(k)) * sm_scale
        valid = (offs_m[:, None] < N) & (offs_n[None, :] < N)
        if CAUSAL:
            valid = valid & (offs_m[:, None] >= offs_n[None, :])
        p = tl.where(valid, tl.exp(s - lse[:, None]), 0.0)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k)
    tl.store(dq_ptr + q_ptrs, (dq * sm_scale).to(dq_ptr.dtype.element_ty), mask=offs_m[:, None] < N)


def attention_backward(q, k, v, o, do, lse, causal=False, sm_scale=None, block_m=None, block_n=None):
    """(dq, dk, dv) of O = softmax(sm_scale * Q K^T [causal]) V, for tensors of shape (B, H, N, head_dim)
    and lse (B, H, N) fp32, the natural log of each row's sum of exp(sm_scale * q.k) over visible keys."""
    if q.dim() != 4 or not (q.shape == k.shape == v.shape == o.shape == do.shape):
        raise ValueError("attention_backward: q, k, v, o, do must all be (B, H, N, head_dim)")
    B, H, N, d = q.shape
    if d not in (16, 32, 64, 128):
        raise ValueError(f"attention_backward: head_dim must be 16, 32, 64 or 128, got {d}")
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(d)
    q, k, v, o, do = (t.contiguous() for t in (q, k, v, o, do))  # free when they already are
    lse = lse.contiguous()
    dq, dk, dv = (torch.empty_like(t) for t in (q, k, v))
    if q.numel() == 0:
        return dq, dk, dv
    delta = torch.empty((B, H, N), dtype=torch.float32, device=q.device)
    on_gpu = q.device.type == "cuda"
    # Block sizes per kernel. dK/dV holds two (BLOCK_N, d) fp32 accumulators and walks query blocks: a
    # short query block (32) keeps it in registers with a 3-stage pipeline. dQ holds one (BLOCK_M, d)
    # accumulator and walks key blocks: the mirror image. Chosen by timing each kernel on an H100 at d = 64.
    if on_gpu and d <= 64:
        kv_m, kv_n, q_m, q_n, warps, stages = 32, 64, 64, 32, 4, 3
    elif on_gpu:
        kv_m, kv_n, q_m, q_n, warps, stages = 64, 64, 64, 64, 8, 2
    else:
        kv_m, kv_n, q_m, q_n, warps, stages = 32, 32, 32, 32, 4, 1
    kv_m, q_m = block_m or kv_m, block_m or q_m
    kv_n, q_n = block_n or kv_n, block_n or q_n
    bwd_preprocess_kernel[(triton.cdiv(N, q_m), B * H)](o, do, delta, N, HEAD_DIM=d, BLOCK_M=q_m)
    bwd_dkdv_kernel[(triton.cdiv(N, kv_n), B * H)](q, k, v, do, lse, delta, dk, dv, sm_scale, N, HEAD_DIM=d,
                                                   BLOCK_M=kv_m, BLOCK_N=kv_n, CAUSAL=causal, num_warps=warps,
                                                   num_stages=stages)
    bwd_dq_kernel[(triton.cdiv(N, q_m), B * H)](q, k, v, do, lse, delta, dq, sm_scale, N, HEAD_DIM=d,
                                                BLOCK_M=q_m, BLOCK_N=q_n, CAUSAL=causal, num_warps=warps,
                                                num_stages=stages)
    return dq, dk, dv
