"""RoPE in Triton: against a float64 reference on awkward shapes, position offsets and strided inputs,
no torch compute, bytes moved (CPU), bandwidth and speed against eager torch (GPU)."""
from functools import partial

import pytest
import torch

from kata.testing import assert_close
from kata.timing import gpu_ms
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bandwidth, check_low_precision, expect, randn

# the inputs: 2 * N(0, 1) unless a test says otherwise, drawn on the device (fast for the large timed ones)
randn = partial(randn, scale=2.0, draw_on_device=True)

DTYPES = {"fp32": (torch.float32, 2e-6), "fp16": (torch.float16, 2e-3)}


def tables(P, D, device, base=10000.0):
    inv = 1.0 / base ** (torch.arange(0, D, 2, dtype=torch.float64) / D)
    ang = torch.arange(P, dtype=torch.float64)[:, None] * inv[None, :]
    return ang.cos().float().to(device), ang.sin().float().to(device)


def reference(x, cos, sin, offset):
    x = x.detach().cpu().double()
    S, half = x.shape[1], x.shape[-1] // 2
    c = cos.cpu().double()[offset:offset + S][None, :, None, :]
    s = sin.cpu().double()[offset:offset + S][None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


def check_rope(kata, x, cos, sin, offset, on, rtol):
    # x, cos and sin stay as they were; the result has x's shape and dtype
    out = call_checked(kata.module().rope, x, cos, sin, offset, name="rope(x, cos, sin, offset)", on=on, guard=True,
                       returns=torch.Tensor, shape=x.shape, dtype=x.dtype)
    want = reference(x, cos, sin, offset)
    assert_close(out, want, atol=rtol, rtol=rtol, what="rope(x, cos, sin, offset)", on=on)
    return out


# ---------------------------------------------------------------------------------------- correctness

SHAPES = [(1, 1, 1, 2), (2, 37, 3, 64), (1, 9, 5, 80), (3, 5, 8, 128)]


@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_shapes(kata, device, dtype, shape):
    dt, tol = DTYPES[dtype]
    x = randn(shape, dt, device, seed=sum(shape))
    cos, sin = tables(shape[1] + 3, shape[-1], device)
    check_rope(kata, x, cos, sin, 0, f"x (B, S, H, D) = {shape} {dtype}", tol)


@pytest.mark.parametrize("offset", [1, 100, 4093])
def test_offset(kata, device, offset):
    # Decoding with a KV cache: the new tokens sit at positions offset .. offset + S - 1.
    x = randn((2, 3, 4, 64), torch.float32, device, seed=offset)
    cos, sin = tables(4096 + 8, 64, device)
    check_rope(kata, x, cos, sin, offset, f"x (2, 3, 4, 64) at positions {offset}..{offset + 2}", 2e-6)


def test_strided(kata, device):
    # q sliced out of a fused qkv projection (B, S, 3H, D), and x stored (B, H, S, D) then transposed.
    qkv = randn((2, 11, 3 * 4, 64), torch.float32, device, seed=1)
    cos, sin = tables(16, 64, device)
    q = qkv[:, :, 4:8]
    check_rope(kata, q, cos, sin, 2, f"k = qkv[:, :, 4:8] (strides {q.stride()})", 2e-6)
    t = randn((2, 4, 11, 64), torch.float16, device, seed=2).transpose(1, 2)
    check_rope(kata, t, cos, sin, 0, f"x transposed from (B, H, S, D) (strides {t.stride()})", 2e-3)


def test_no_torch_compute(kata, device):
    x = randn((2, 7, 4, 64), torch.float32, device, seed=3)
    cos, sin = tables(7, 64, device)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        mod.rope(x, cos, sin, 0)
    expect(guard.launches >= 1, "rope(...) returned without launching a Triton kernel")


# -------------------------------------------------------------------------------- bytes moved (CPU)


@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved(kata, device, dtype):
    B, S, H, D = 2, 33, 12, 64
    dt, _ = DTYPES[dtype]
    x = randn((B, S, H, D), dt, device, seed=4)
    cos, sin = tables(S, D, device)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        mod.rope(x, cos, sin, 0)
    xb = B * S * H * D * dt.itemsize
    tb = B * S * D * 4  # one cos row and one sin row (D/2 floats each) per token
    need = 2 * xb + tb
    kata.record(bytes_moved=moved.total, bytes_minimum=need, bytes_ratio=round(moved.total / need, 3))
    expect(moved.total <= need, (
        f"rope on x (B, S, H, D) = {(B, S, H, D)} {dtype} moved {moved.total:,} bytes; the gate is {need:,}: "
        f"read x once ({xb:,}), write the output once ({xb:,}), and read the token's cos and sin rows once per "
        f"token ({tb:,}). That is {moved.total / need:.2f}x.\n  {moved}\n"
        "  The eager recipe (rotate_half into a temporary, then x * cos + tmp * sin) reads x twice and "
        "writes and reads a temporary. One program per token can load both halves of every head, and the "
        "token's cos/sin rows once, and write the result once."))


# ---------------------------------------------------------------------------------------------- GPU

SHAPE_GPU = (8, 4096, 32, 128)  # bf16: 256 MiB of x
FRACTION_OF_COPY = 0.6
VS_EAGER = 3.0


@pytest.mark.gpu
def test_bf16(kata, device):
    x = randn((2, 257, 8, 128), torch.bfloat16, device, seed=5)
    cos, sin = tables(300, 128, device)
    mod = kata.module()
    out = mod.rope(x, cos, sin, 7)
    want = reference(x, cos, sin, 7)
    c = torch.cat([cos, cos], -1)[7:264][None, :, None, :].to(torch.bfloat16)
    s = torch.cat([sin, sin], -1)[7:264][None, :, None, :].to(torch.bfloat16)
    rot = torch.cat([-x[..., 64:], x[..., :64]], -1)
    eager = x * c + rot * s  # torch in bf16: its error sets the bar
    check_low_precision(kata, out, want, eager, what="rope on (2, 257, 8, 128) bf16 at offset 7",
                        baseline_name="torch's own bf16 computation", keys=("max_err", "torch_bf16_err"),
                        hint="Compute in float32 and round once.")


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
def test_bandwidth_and_vs_eager(kata, device):
    mod = kata.module()
    B, S, H, D = SHAPE_GPU
    x = randn(SHAPE_GPU, torch.bfloat16, "cuda", seed=6)
    cos, sin = tables(S, D, "cuda")
    out = mod.rope(x, cos, sin, 0)
    c = torch.cat([cos, cos], -1)[None, :, None, :].to(torch.bfloat16)
    s = torch.cat([sin, sin], -1)[None, :, None, :].to(torch.bfloat16)

    def eager():
        return x * c + torch.cat([-x[..., D // 2:], x[..., :D // 2]], -1) * s
    err = (out.float() - eager().float()).abs().max().item()
    expect(err < 0.1, f"rope on {SHAPE_GPU} bf16 differs from torch by {err:.3g}: fix correctness first")
    check_bandwidth(
        kata, what=f"rope on {SHAPE_GPU} bf16", ms=gpu_ms(lambda: mod.rope(x, cos, sin, 0)), nbytes=2 * x.numel() * 2,
        moves="x read once and written once", fraction=FRACTION_OF_COPY,
        fraction_hint="A temporary, or cos/sin loaded per head, costs bandwidth.", baseline_ms=gpu_ms(eager),
        baseline_name="eager torch's x * cos + rotate_half(x) * sin", key="eager", vs_baseline=VS_EAGER,
        baseline_hint="Eager makes about ten passes over x-sized tensors; one fused kernel makes two.")
