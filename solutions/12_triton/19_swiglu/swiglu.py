"""SwiGLU in Triton: h = silu(gate) * up, and its backward (reference)."""
import torch
import triton
import triton.language as tl

BLOCK = 1024


@triton.jit
def swiglu_fwd_kernel(g_ptr, u_ptr, h_ptr, N, stride_gm, stride_gn, stride_um, stride_un,
                      BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < N
    g = tl.load(g_ptr + row * stride_gm + cols * stride_gn, mask=mask, other=0.0).to(tl.float32)
    u = tl.load(u_ptr + row * stride_um + cols * stride_un, mask=mask, other=0.0).to(tl.float32)
    h = g * tl.sigmoid(g) * u
    tl.store(h_ptr + row * N + cols, h.to(h_ptr.dtype.element_ty), mask=mask)


@triton.jit
def swiglu_bwd_kernel(dh_ptr, g_ptr, u_ptr, dg_ptr, du_ptr, N, stride_dm, stride_dn, stride_gm, stride_gn,
                      stride_um, stride_un, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < N
    dh = tl.load(dh_ptr + row * stride_dm + cols * stride_dn, mask=mask, other=0.0).to(tl.float32)
    g = tl.load(g_ptr + row * stride_gm + cols * stride_gn, mask=mask, other=0.0).to(tl.float32)
    u = tl.load(u_ptr + row * stride_um + cols * stride_un, mask=mask, other=0.0).to(tl.float32)
    sig = tl.sigmoid(g)
    silu = g * sig
    dsilu = sig * (1.0 + g * (1.0 - sig))  # d/dg of g * sigmoid(g)
    tl.store(du_ptr + row * N + cols, (dh * silu).to(du_ptr.dtype.element_ty), mask=mask)
    tl.store(dg_ptr + row * N + cols, (dh * u * dsilu).to(dg_ptr.dtype.element_ty), mask=mask)


def _check(*ts):
    shape, dtype = ts[0].shape, ts[0].dtype
    if ts[0].dim() != 2 or any(t.shape != shape or t.dtype != dtype for t in ts):
        raise ValueError("swiglu: inputs must be 2-D with the same shape and dtype, got "
                         + ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in ts))


def swiglu_forward(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    _check(gate, up)
    M, N = gate.shape
    h = torch.empty((M, N), dtype=gate.dtype, device=gate.device)
    if h.numel():
        swiglu_fwd_kernel[(M, triton.cdiv(N, BLOCK))](gate, up, h, N, *gate.stride(), *up.stride(), BLOCK=BLOCK)
    return h


def swiglu_backward(dh: torch.Tensor, gate: torch.Tensor, up: torch.Tensor):
    _check(dh, gate, up)
    M, N = gate.shape
    dg = torch.empty((M, N), dtype=gate.dtype, device=gate.device)
    du = torch.empty((M, N), dtype=gate.dtype, device=gate.device)
    if dg.numel():
        swiglu_bwd_kernel[(M, triton.cdiv(N, BLOCK))](dh, gate, up, dg, du, N, *dh.stride(), *gate.stride(),
                                                      *up.stride(), BLOCK=BLOCK)
    return dg, du
