"""Naive control: unfused. Forward: silu(gate) into a float32 temporary, then a second kernel multiplies
by up. Backward: sigmoid(gate) into a float32 temporary, then one kernel for dup and one for dgate,
each reading it back. Correct, but many more bytes than reading the inputs and writing the outputs once."""
import torch
import triton
import triton.language as tl

BLOCK = 1024


@triton.jit
def _sigmoid_kernel(g_ptr, t_ptr, N, sgm, sgn, TIMES_G: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < N
    g = tl.load(g_ptr + row * sgm + cols * sgn, mask=mask).to(tl.float32)
    t = tl.sigmoid(g)
    if TIMES_G:
        t = t * g
    tl.store(t_ptr + row * N + cols, t, mask=mask)


@triton.jit
def _mul_kernel(t_ptr, u_ptr, h_ptr, N, sum_, sun, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < N
    t = tl.load(t_ptr + row * N + cols, mask=mask)
    u = tl.load(u_ptr + row * sum_ + cols * sun, mask=mask).to(tl.float32)
    tl.store(h_ptr + row * N + cols, (t * u).to(h_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _dup_kernel(dh_ptr, g_ptr, s_ptr, du_ptr, N, sdm, sdn, sgm, sgn, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < N
    dh = tl.load(dh_ptr + row * sdm + cols * sdn, mask=mask).to(tl.float32)
    g = tl.load(g_ptr + row * sgm + cols * sgn, mask=mask).to(tl.float32)
    s = tl.load(s_ptr + row * N + cols, mask=mask)
    tl.store(du_ptr + row * N + cols, (dh * g * s).to(du_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _dgate_kernel(dh_ptr, g_ptr, u_ptr, s_ptr, dg_ptr, N, sdm, sdn, sgm, sgn, sum_, sun, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < N
    dh = tl.load(dh_ptr + row * sdm + cols * sdn, mask=mask).to(tl.float32)
    g = tl.load(g_ptr + row * sgm + cols * sgn, mask=mask).to(tl.float32)
    u = tl.load(u_ptr + row * sum_ + cols * sun, mask=mask).to(tl.float32)
    s = tl.load(s_ptr + row * N + cols, mask=mask)
    tl.store(dg_ptr + row * N + cols, (dh * u * s * (1.0 + g * (1.0 - s))).to(dg_ptr.dtype.element_ty), mask=mask)


def swiglu_forward(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    M, N = gate.shape
    h = torch.empty((M, N), dtype=gate.dtype, device=gate.device)
    if h.numel():
        t = torch.empty((M, N), dtype=torch.float32, device=gate.device)
        grid = (M, triton.cdiv(N, BLOCK))
        _sigmoid_kernel[grid](gate, t, N, *gate.stride(), TIMES_G=True, BLOCK=BLOCK)
        _mul_kernel[grid](t, up, h, N, *up.stride(), BLOCK=BLOCK)
    return h


def swiglu_backward(dh: torch.Tensor, gate: torch.Tensor, up: torch.Tensor):
    M, N = gate.shape
    dg = torch.empty((M, N), dtype=gate.dtype, device=gate.device)
    du = torch.empty((M, N), dtype=gate.dtype, device=gate.device)
    if dg.numel():
        s = torch.empty((M, N), dtype=torch.float32, device=gate.device)
        grid = (M, triton.cdiv(N, BLOCK))
        _sigmoid_kernel[grid](gate, s, N, *gate.stride(), TIMES_G=False, BLOCK=BLOCK)
        _dup_kernel[grid](dh, gate, s, du, N, *dh.stride(), *gate.stride(), BLOCK=BLOCK)
        _dgate_kernel[grid](dh, gate, up, s, dg, N, *dh.stride(), *gate.stride(), *up.stride(), BLOCK=BLOCK)
    return dg, du
