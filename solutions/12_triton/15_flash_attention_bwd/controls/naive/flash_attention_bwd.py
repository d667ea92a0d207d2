"""Naive control: correct, but the probabilities and their gradients go through memory. One kernel
computes P and dS for every (query, key) tile and stores both (N x N, fp32, per head); a second reads them
back to form dV = P^T dO and dK = scale * dS^T Q; a third reads dS again for dQ = scale * dS K."""
import math

import torch
import triton
import triton.language as tl


@triton.jit
def delta_kernel(o_ptr, do_ptr, delta_ptr, N, D: tl.constexpr, BM: tl.constexpr):
    bh = tl.program_id(1).to(tl.int64)
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    d = tl.arange(0, D)
    ptrs = bh * N * D + rm[:, None] * D + d[None, :]
    o = tl.load(o_ptr + ptrs, mask=rm[:, None] < N, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + ptrs, mask=rm[:, None] < N, other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh * N + rm, tl.sum(o * do, axis=1), mask=rm < N)


@triton.jit
def p_ds_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, p_ptr, ds_ptr, sm_scale, N, D: tl.constexpr,
                BM: tl.constexpr, BN: tl.constexpr, CAUSAL: tl.constexpr):
    pm, pn, bh = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    rm = pm * BM + tl.arange(0, BM)
    rn = pn * BN + tl.arange(0, BN)
    d = tl.arange(0, D)
    q = tl.load(q_ptr + bh * N * D + rm[:, None] * D + d[None, :], mask=rm[:, None] < N, other=0.0)
    do = tl.load(do_ptr + bh * N * D + rm[:, None] * D + d[None, :], mask=rm[:, None] < N, other=0.0)
    kt = tl.load(k_ptr + bh * N * D + rn[None, :] * D + d[:, None], mask=rn[None, :] < N, other=0.0)
    vt = tl.load(v_ptr + bh * N * D + rn[None, :] * D + d[:, None], mask=rn[None, :] < N, other=0.0)
    lse = tl.load(lse_ptr + bh * N + rm, mask=rm < N, other=0.0)
    delta = tl.load(delta_ptr + bh * N + rm, mask=rm < N, other=0.0)
    valid = (rm[:, None] < N) & (rn[None, :] < N)
    if CAUSAL:
        valid = valid & (rm[:, None] >= rn[None, :])
    p = tl.where(valid, tl.exp(tl.dot(q, kt) * sm_scale - lse[:, None]), 0.0)
    ds = p * (tl.dot(do, vt) - delta[:, None])
    out = bh * N * N + rm[:, None] * N + rn[None, :]
    tl.store(p_ptr + out, p, mask=valid)
    tl.store(ds_ptr + out, ds, mask=(rm[:, None] < N) & (rn[None, :] < N))


@triton.jit
def dkdv_kernel(q_ptr, do_ptr, p_ptr, ds_ptr, dk_ptr, dv_ptr, sm_scale, N, D: tl.constexpr, BM: tl.constexpr,
                BN: tl.constexpr):
    pn, bh = tl.program_id(0), tl.program_id(1).to(tl.int64)
    rn = pn * BN + tl.arange(0, BN)
    d = tl.arange(0, D)
    dk = tl.zeros([BN, D], dtype=tl.float32)
    dv = tl.zeros([BN, D], dtype=tl.float32)
    for m0 in range(0, N, BM):
        rm = m0 + tl.arange(0, BM)
        q = tl.load(q_ptr + bh * N * D + rm[:, None] * D + d[None, :], mask=rm[:, None] < N, other=0.0)
        do = tl.load(do_ptr + bh * N * D + rm[:, None] * D + d[None, :], mask=rm[:, None] < N, other=0.0)
        tile = bh * N * N + rm[None, :] * N + rn[:, None]   # transposed: (BN, BM)
        ok = (rm[None, :] < N) & (rn[:, None] < N)
        p_t = tl.load(p_ptr + tile, mask=ok, other=0.0)
        ds_t = tl.load(ds_ptr + tile, mask=ok, other=0.0)
        dv += tl.dot(p_t.to(do.dtype), do)
        dk += tl.dot(ds_t.to(q.dtype), q)
    ptrs = bh * N * D + rn[:, None] * D + d[None, :]
    tl.store(dk_ptr + ptrs, (dk * sm_scale).to(dk_ptr.dtype.element_ty), mask=rn[:, None] < N)
    tl.store(dv_ptr + ptrs, dv.to(dv_ptr.dtype.element_ty), mask=rn[:, None] < N)


@triton.jit
def dq_kernel(k_ptr, ds_ptr, dq_ptr, sm_scale, N, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    pm, bh = tl.program_id(0), tl.program_id(1).to(tl.int64)
    rm = pm * BM + tl.arange(0, BM)
    d = tl.arange(0, D)
    dq = tl.zeros([BM, D], dtype=tl.float32)
    for n0 in range(0, N, BN):
        rn = n0 + tl.arange(0, BN)
        k = tl.load(k_ptr + bh * N * D + rn[:, None] * D + d[None, :], mask=rn[:, None] < N, other=0.0)
        ds = tl.load(ds_ptr + bh * N * N + rm[:, None] * N + rn[None, :], mask=(rm[:, None] < N) & (rn[None, :] < N),
                     other=0.0)
        dq += tl.dot(ds.to(k.dtype), k)
    tl.store(dq_ptr + bh * N * D + rm[:, None] * D + d[None, :], (dq * sm_scale).to(dq_ptr.dtype.element_ty),
             mask=rm[:, None] < N)


def attention_backward(q, k, v, o, do, lse, causal=False, sm_scale=None, block_m=None, block_n=None):
    B, H, N, d = q.shape
    sm_scale = 1.0 / math.sqrt(d) if sm_scale is None else sm_scale
    q, k, v, o, do, lse = (t.contiguous() for t in (q, k, v, o, do, lse))
    dq, dk, dv = (torch.empty_like(t) for t in (q, k, v))
    if q.numel() == 0:
        return dq, dk, dv
    bm = bn = 32
    delta = torch.empty((B, H, N), dtype=torch.float32, device=q.device)
    p = torch.zeros((B * H, N, N), dtype=torch.float32, device=q.device)
    ds = torch.empty((B * H, N, N), dtype=torch.float32, device=q.device)
    delta_kernel[(triton.cdiv(N, bm), B * H)](o, do, delta, N, D=d, BM=bm)
    p_ds_kernel[(triton.cdiv(N, bm), triton.cdiv(N, bn), B * H)](q, k, v, do, lse, delta, p, ds, sm_scale, N, D=d,
                                                                BM=bm, BN=bn, CAUSAL=causal)
    dkdv_kernel[(triton.cdiv(N, bn), B * H)](q, do, p, ds, dk, dv, sm_scale, N, D=d, BM=bm, BN=bn)
    dq_kernel[(triton.cdiv(N, bm), B * H)](k, ds, dq, sm_scale, N, D=d, BM=bm, BN=bn)
    return dq, dk, dv
