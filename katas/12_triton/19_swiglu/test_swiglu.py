"""SwiGLU forward and backward in Triton: against float64 autograd on awkward shapes and the strided
halves of a fused projection, no torch compute, bytes moved (CPU), bandwidth and speed (GPU)."""
from functools import partial

import pytest
import torch

from kata.testing import assert_close
from kata.timing import gpu_ms
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bandwidth, check_low_precision, expect, randn

# the inputs: 2 * N(0, 1) unless a test says otherwise, drawn on the device (fast for the large timed ones)
randn = partial(randn, scale=2.0, draw_on_device=True)

DTYPES = {"fp32": (torch.float32, 1e-5), "fp16": (torch.float16, 2e-3)}


def reference(dh, gate, up):
    g = gate.detach().cpu().double().requires_grad_()
    u = up.detach().cpu().double().requires_grad_()
    h = torch.nn.functional.silu(g) * u
    h.backward(dh.detach().cpu().double())
    return h.detach(), g.grad, u.grad


def check(kata, dh, gate, up, on, tol):
    mod = kata.module()
    # dh, gate and up stay as they were; outputs come back NaN-filled, between poisoned margins
    h = call_checked(mod.swiglu_forward, gate, up, name="swiglu_forward(gate, up)", on=on, guard=True)
    res = call_checked(mod.swiglu_backward, dh, gate, up, name="swiglu_backward(dh, gate, up)", on=on, guard=True)
    expect(isinstance(res, tuple) and len(res) == 2, f"swiglu_backward must return (dgate, dup), got {type(res).__name__}")
    want = reference(dh, gate, up)
    for got, w, what in zip((h, *res), want, ("swiglu_forward: h", "swiglu_backward: dgate", "swiglu_backward: dup")):
        expect(isinstance(got, torch.Tensor) and got.shape == gate.shape and got.dtype == gate.dtype,
               f"{what} on {on}: expected a {gate.dtype} tensor of shape {tuple(gate.shape)}, got "
               f"{getattr(got, 'dtype', type(got))} {tuple(getattr(got, 'shape', ()))}")
        assert_close(got, w, atol=tol, rtol=tol, what=what, on=on)


# ---------------------------------------------------------------------------------------- correctness

SHAPES = [(1, 1), (3, 1000), (7, 1025), (2, 5003)]


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_shapes(kata, device, dtype, shape):
    dt, tol = DTYPES[dtype]
    s = shape[0] * 10 + shape[1]
    check(kata, randn(shape, dt, device, s), randn(shape, dt, device, s + 1, scale=3.0), randn(shape, dt, device, s + 2),
          f"(M, N) = {shape} {dtype}", tol)


def test_large_and_negative_gates(kata, device):
    # sigmoid at +-30: exp must not overflow into NaN, and silu'(g) goes to 1 and 0 at the two ends.
    g = torch.linspace(-30, 30, 2 * 777, device=device).reshape(2, 777)
    check(kata, randn((2, 777), torch.float32, device, 1), g, randn((2, 777), torch.float32, device, 2),
          "gates from -30 to 30", 1e-5)


def test_fused_projection_halves(kata, device):
    # The usual layout: one matmul produces [gate | up] side by side, (M, 2N); gate and up are views
    # with row stride 2N. A kernel that assumes row stride N reads the wrong elements.
    gu = randn((5, 2 * 700), torch.float32, device, seed=3)
    gate, up = gu[:, :700], gu[:, 700:]
    dh = randn((5, 700), torch.float32, device, seed=4)
    check(kata, dh, gate, up, "gate, up = gu[:, :700], gu[:, 700:] (row stride 1400)", 1e-5)
    t = randn((333, 4), torch.float16, device, seed=5).t()
    check(kata, t, randn((4, 333), torch.float16, device, 6), t.clone(), f"dh and up transposed (strides {t.stride()})",
          2e-3)


def test_no_torch_compute(kata, device):
    g, u, dh = (randn((4, 1000), torch.float32, device, s) for s in (7, 8, 9))
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        mod.swiglu_forward(g, u)
        mod.swiglu_backward(dh, g, u)
    expect(guard.launches >= 2, f"swiglu_forward and swiglu_backward launched {guard.launches} Triton kernel(s) "
           "between them: each must run its own kernel")


# -------------------------------------------------------------------------------- bytes moved (CPU)

M_B, N_B = 8, 3001


@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved(kata, device, dtype):
    dt, _ = DTYPES[dtype]
    g, u, dh = (randn((M_B, N_B), dt, device, s) for s in (10, 11, 12))
    mod = kata.module()
    one = M_B * N_B * dt.itemsize
    with guard_allocations(), count_bytes() as fwd:
        mod.swiglu_forward(g, u)
    with guard_allocations(), count_bytes() as bwd:
        mod.swiglu_backward(dh, g, u)
    kata.record(forward_bytes=fwd.total, forward_minimum=3 * one, backward_bytes=bwd.total, backward_minimum=5 * one)
    expect(fwd.total == 3 * one and bwd.total == 5 * one, (
        f"on ({M_B}, {N_B}) {dtype}: swiglu_forward moved {fwd.total:,} bytes ({fwd.total / one:.2f} tensors' "
        f"worth; the gate is exactly 3: read gate and up, write h) and swiglu_backward {bwd.total:,} "
        f"({bwd.total / one:.2f}; the gate is exactly 5: read dh, gate, up, write dgate and dup).\n"
        f"  forward: {fwd}\n  backward: {bwd}\n"
        "  Compute sigmoid(g) in registers and use it for everything in the same kernel; a temporary "
        "written by one kernel and read by the next costs two extra passes, an fp32 one four."))


# ---------------------------------------------------------------------------------------------- GPU

M_GPU, N_GPU = 8192, 14336   # Llama-3-8B's MLP width: 235 MB per bf16 tensor
FRACTION_OF_COPY = 0.6
VS_EAGER = 1.2


@pytest.mark.gpu
def test_bf16(kata, device):
    shape = (257, 4099)
    g, u, dh = (randn(shape, torch.bfloat16, device, s) for s in (13, 14, 15))
    mod = kata.module()
    got = (mod.swiglu_forward(g, u), *mod.swiglu_backward(dh, g, u))
    want = reference(dh, g, u)
    gg, uu = g.clone().requires_grad_(), u.clone().requires_grad_()
    h = torch.nn.functional.silu(gg) * uu
    h.backward(dh)
    for x, t, w, what in zip(got, (h, gg.grad, uu.grad), want, ("h", "dgate", "dup")):
        check_low_precision(kata, x, w, t, what=f"{what} on {shape} bf16", baseline_name="torch's own bf16 computation",
                            keys=(f"{what}_err", f"{what}_torch_err"), hint="Compute in float32 and round once.")


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
def test_bandwidth_and_vs_eager(kata, device):
    mod = kata.module()
    g, u, dh = (randn((M_GPU, N_GPU), torch.bfloat16, "cuda", s) for s in (16, 17, 18))
    h = mod.swiglu_forward(g, u)
    expect((h.float() - (torch.nn.functional.silu(g.float()) * u.float())).abs().max().item() < 0.5,
           "swiglu_forward on the timed input is wrong: fix correctness first")
    del h
    f_ms = gpu_ms(lambda: mod.swiglu_forward(g, u))
    b_ms = gpu_ms(lambda: mod.swiglu_backward(dh, g, u))
    ef_ms = gpu_ms(lambda: torch.nn.functional.silu(g) * u)

    def eager_bwd():  # what autograd runs for silu(g) * u: three elementwise kernels
        s = torch.ops.aten.silu_backward(dh * u, g)
        return s, dh * torch.nn.functional.silu(g)
    eb_ms = gpu_ms(eager_bwd)
    one = M_GPU * N_GPU * 2
    for direction, ms, eager_ms, tensors, passes in (("forward", f_ms, ef_ms, 3, 5), ("backward", b_ms, eb_ms, 5, 9)):
        check_bandwidth(
            kata, what=f"swiglu_{direction} on ({M_GPU}, {N_GPU}) bf16", ms=ms, nbytes=tensors * one,
            moves=f"{tensors} tensors", fraction=FRACTION_OF_COPY, baseline_ms=eager_ms, baseline_name="eager torch",
            key="eager", vs_baseline=VS_EAGER, prefix=f"{direction}_",
            fraction_hint="Temporaries between kernels, or tiny blocks, lose the fused kernel's advantage.",
            baseline_hint=f"Eager makes {passes} passes {direction}; a fused kernel makes {tensors}. Temporaries "
                          "between kernels, or tiny blocks, lose that advantage.")
