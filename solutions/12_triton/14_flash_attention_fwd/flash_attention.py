"""Flash attention forward in Triton (reference): O = softmax(scale * Q K^T [+ causal mask]) V without
ever writing the N x N score matrix to memory."""
import math

import torch
import triton
import triton.language as tl

LOG2E = 1.4426950408889634

# Measured on an H200 (triton 3.6, bf16, B=4 H=16 N=4096): BLOCK_M 128 / BLOCK_N 64 / 8 warps / 3-4 stages
# wins for head_dim 64 (0.93-0.96x SDPA), 64/64/4 warps for causal d 64 (0.97x), 256/64/16 warps and
# 128/128/8 for head_dim 128 (0.84x). More stages than 3 at 128/128 exceed shared memory.
CONFIGS = [
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 64}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 64}, num_warps=8, num_stages=4),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 64}, num_warps=4, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 128}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 256, "BLOCK_N": 64}, num_warps=16, num_stages=3),
]


@triton.jit
def _attn_blocks(acc, l_i, m_i, q, k_ptr, v_ptr, stride_kn, stride_kd, stride_vn, stride_vd, offs_m, lo, hi, N,
                 qk_scale, HEAD_DIM: tl.constexpr, BLOCK_N: tl.constexpr, MASKED: tl.constexpr,
                 CAUSAL: tl.constexpr):
    """Fold key blocks [lo, hi) into the running (acc, l, m). MASKED blocks may hold keys past N or past
    the diagonal; the others are whole and visible to every query of the block, so they skip the mask."""
    offs_d = tl.arange(0, HEAD_DIM)
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k_ptrs = k_ptr + offs_n[None, :] * stride_kn + offs_d[:, None] * stride_kd   # K^T block: (HEAD_DIM, BLOCK_N)
        v_ptrs = v_ptr + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd
        if MASKED:
            k = tl.load(k_ptrs, mask=offs_n[None, :] < N, other=0.0)
        else:
            k = tl.load(k_ptrs)
        qk = tl.dot(q, k)
        if MASKED:
            valid = offs_n[None, :] < N
            if CAUSAL:
                valid = valid & (offs_m[:, None] >= offs_n[None, :])               # query i sees keys j <= i
            qk = tl.where(valid, qk * qk_scale, -float("inf"))
            m_new = tl.maximum(m_i, tl.max(qk, 1))
            qk = qk - m_new[:, None]
        else:
            m_new = tl.maximum(m_i, tl.max(qk, 1) * qk_scale)
            qk = qk * qk_scale - m_new[:, None]                                       # one FMA per score
        p = tl.exp2(qk)
        alpha = tl.exp2(m_i - m_new)           # rescales what was summed against the old max
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None]
        if MASKED:
            v = tl.load(v_ptrs, mask=offs_n[:, None] < N, other=0.0)
        else:
            v = tl.load(v_ptrs)
        acc = tl.dot(p.to(v.dtype), v, acc)    # accumulate in place: the MMA adds into acc
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def attn_fwd_kernel(q_ptr, k_ptr, v_ptr, o_ptr, sm_scale, N, H,
                    stride_qb, stride_qh, stride_qn, stride_qd,
                    stride_kb, stride_kh, stride_kn, stride_kd,
                    stride_vb, stride_vh, stride_vn, stride_vd,
                    stride_ob, stride_oh, stride_on, stride_od,
                    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
    """Program (pid_m, batch*head): BLOCK_M query rows of one head against all (or, causal, the earlier) keys."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    q_ptr += b * stride_qb + h * stride_qh
    k_ptr += b * stride_kb + h * stride_kh
    v_ptr += b * stride_vb + h * stride_vh
    o_ptr += b * stride_ob + h * stride_oh

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    q = tl.load(q_ptr + offs_m[:, None] * stride_qn + offs_d[None, :] * stride_qd, mask=offs_m[:, None] < N, other=0.0)

    m_i = tl.zeros([BLOCK_M], dtype=tl.float32) - float("inf")  # running row max (log2 units)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)                 # running row sum of exp2(s - m)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)       # running sum of P V
    qk_scale = sm_scale * 1.4426950408889634                     # exp(x) = exp2(x * log2(e))

    # Two stages: key blocks every query of this block sees in full (no mask), then the rest (the
    # diagonal for causal, the partial last block otherwise). The first masked block starts at or
    # before every query of the block, so no row is ever all -inf there.
    if CAUSAL:
        hi = tl.minimum((pid_m + 1) * BLOCK_M, N)       # keys past the block's last query are all masked
        split = (pid_m * BLOCK_M) // BLOCK_N * BLOCK_N
    else:
        hi = N
        split = N // BLOCK_N * BLOCK_N
    acc, l_i, m_i = _attn_blocks(acc, l_i, m_i, q, k_ptr, v_ptr, stride_kn, stride_kd, stride_vn, stride_vd,
                                 offs_m, 0, split, N, qk_scale, HEAD_DIM, BLOCK_N, False, CAUSAL)
    acc, l_i, m_i = _attn_blocks(acc, l_i, m_i, q, k_ptr, v_ptr, stride_kn, stride_kd, stride_vn, stride_vd,
                                 offs_m, split, hi, N, qk_scale, HEAD_DIM, BLOCK_N, True, CAUSAL)
    acc = acc / l_i[:, None]
    tl.store(o_ptr + offs_m[:, None] * stride_on + offs_d[None, :] * stride_od, acc.to(o_ptr.dtype.element_ty),
             mask=offs_m[:, None] < N)


attn_fwd_autotuned = triton.autotune(configs=CONFIGS, key=["N", "HEAD_DIM", "CAUSAL"])(attn_fwd_kernel)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
              sm_scale: float | None = None, block_m: int | None = None, block_n: int | None = None) -> torch.Tensor:
    """softmax(q k^T * sm_scale, masked causally if asked) v for q, k, v of shape (B, H, N, head_dim).

    sm_scale defaults to 1/sqrt(head_dim). block_m/block_n (powers of two >= 16), when given, are the
    query and key block sizes; otherwise choose (or autotune on a GPU)."""
    if q.dim() != 4 or q.shape != k.shape or q.shape != v.shape:
        raise ValueError(f"attention: q, k, v must all be (B, H, N, d), got {tuple(q.shape)}, {tuple(k.shape)}, "
                         f"{tuple(v.shape)}")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError("attention: q, k, v must have one dtype")
    B, H, N, d = q.shape
    if d not in (16, 32, 64, 128):
        raise ValueError(f"attention: head_dim must be 16, 32, 64 or 128, got {d}")
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(d)
    o = torch.empty((B, H, N, d), dtype=q.dtype, device=q.device)
    if o.numel() == 0:
        return o
    args = (q, k, v, o, sm_scale, N, H, *q.stride(), *k.stride(), *v.stride(), *o.stride())
    if block_m is not None or block_n is not None or q.device.type == "cpu":
        bm, bn = block_m or 32, block_n or 32  # the interpreter cannot autotune: one config on a CPU
        attn_fwd_kernel[(triton.cdiv(N, bm), B * H)](*args, HEAD_DIM=d, BLOCK_M=bm, BLOCK_N=bn, CAUSAL=causal)
    else:
        grid = lambda meta: (triton.cdiv(N, meta["BLOCK_M"]), B * H)  # noqa: E731
        attn_fwd_autotuned[grid](*args, HEAD_DIM=d, CAUSAL=causal)
    return o
