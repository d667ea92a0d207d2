"""Fused softmax in Triton: rows against a float64 softmax (awkward lengths, huge magnitudes, strided
inputs, never-written outputs), no torch compute, then bytes moved (CPU, counted in the interpreter) and
bandwidth (GPU, timed against the copy ceiling and torch.softmax)."""
import pytest
import torch

from kata.testing import assert_close, assert_unchanged
from kata.timing import copy_bandwidth, gbps, gpu_ms
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
# |got - want| <= atol + rtol * |want| against float64. The kernel computes in fp32: what is left is
# the rounding of the result to the output dtype (2^-11 relative in fp16) and fp32 exp/sum error.
TOL = {torch.float32: dict(atol=1e-6, rtol=1e-5), torch.float16: dict(atol=1e-6, rtol=1.5e-3)}
# (rows, n_cols): lengths that are not powers of two leave padding lanes in the row's block; 1 and
# 16384 are the extremes of "one row per program".
SHAPES = [(1, 1), (1, 2), (3, 7), (17, 127), (8, 128), (33, 1000), (4, 1025), (3, 4097), (2, 16384)]


def randn(shape, dtype, device, seed, scale=4.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(shape, generator=g)).to(dtype=dtype, device=device)


def describe(t: torch.Tensor) -> str:
    s = f"{tuple(t.shape)} {str(t.dtype).replace('torch.', '')}"
    return s if t.is_contiguous() else s + f" with strides {t.stride()} (not contiguous)"


def expect(ok: bool, message: str) -> None:
    if not ok:
        pytest.fail(message, pytrace=False)


def oracle(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x.detach().cpu().double(), dim=-1)


def check_softmax(kata, x, on: str):
    """Call the learner's softmax(x) and check everything about the answer except speed."""
    mod = kata.module()
    x0 = x.clone()
    with guard_allocations():  # what the wrapper allocates comes back NaN-filled, between poisoned margins
        out = mod.softmax(x)
    assert_unchanged(x0.contiguous(), x.contiguous(), what=f"x (on {on})")
    expect(isinstance(out, torch.Tensor), f"softmax(x) on {on} returned {type(out).__name__}, expected a tensor")
    expect(out.shape == x.shape, f"softmax(x) on {on} returned shape {tuple(out.shape)}, expected {tuple(x.shape)}")
    expect(out.dtype == x.dtype, f"softmax(x) on {on} returned {out.dtype} for a {x.dtype} input: the result has "
                                 "the input's dtype (compute in fp32 inside the kernel, store in the input's dtype)")
    expect(out.device == x.device, f"softmax(x) on {on} returned a tensor on {out.device}; x is on {x.device}")
    assert_close(out, oracle(x), **TOL[x.dtype], what="softmax(x)", on=on)
    return out


# ---------------------------------------------------------------------------------------- correctness


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{r}x{c}" for r, c in SHAPES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_shapes(kata, device, dtype, shape):
    x = randn(shape, DTYPES[dtype], device, seed=shape[1])
    check_softmax(kata, x, on=f"x of shape {shape} {dtype}")


@pytest.mark.parametrize("case", ["times_1000", "shifted_up", "shifted_down"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_large_magnitudes(kata, device, dtype, case):
    # softmax(x) = softmax(x - c) for any c; exp(x) itself overflows past x = 88 (fp32) and underflows
    # to 0 below -103, so a kernel that skips the max subtraction returns inf/inf or 0/0 = NaN here.
    x = randn((24, 1000), torch.float32, "cpu", seed=7, scale=1.0)
    x = {"times_1000": x * 1000, "shifted_up": x + 5000, "shifted_down": x - 5000}[case]
    x = x.to(dtype=DTYPES[dtype], device=device)
    check_softmax(kata, x, on=f"{dtype} rows of large magnitude ({case.replace('_', ' ')}; values up to "
                              f"{x.abs().max().item():.0f}): subtract the row max before exp")


def _column_slice(device):
    return randn((20, 1024), torch.float32, device, 1)[:, :1000]


def _every_other_row(device):
    return randn((40, 300), torch.float32, device, 2)[::2]


def _transposed(device):
    return randn((300, 20), torch.float32, device, 3).t()


def _fp16_slice(device):
    return randn((9, 2100), torch.float16, device, 4)[1:, 50:2050]


@pytest.mark.parametrize("make", [_column_slice, _every_other_row, _transposed, _fp16_slice],
                         ids=["column_slice", "every_other_row", "transposed", "fp16_slice"])
def test_non_contiguous(kata, device, make):
    # A slice of a wider tensor has row stride > n_cols: a kernel that computes row * n_cols reads the
    # wrong elements. Pass x.stride(0) and x.stride(1) to the kernel.
    x = make(device)
    check_softmax(kata, x, on=f"x {describe(x)}: use the input's strides")


def test_empty(kata, device):
    x = randn((0, 10), torch.float32, device, 0)
    check_softmax(kata, x, on="an input with no rows (return an empty tensor; there is nothing to launch)")


def test_no_torch_compute(kata, device):
    # torch.softmax would pass every other test; the kata is the kernel.
    x = randn((16, 1000), torch.float32, device, 5)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        out = mod.softmax(x)
    expect(guard.launches > 0, "softmax(x) returned without launching a Triton kernel: the softmax must be "
                               "computed by softmax_kernel, not in Python or numpy")
    assert_close(out, oracle(x), **TOL[torch.float32], what="softmax(x)", on="x of shape (16, 1000) fp32")


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(64, 1000), (128, 8192), (5, 16384)], ids=["64x1000", "128x8192", "5x16384"])
def test_bf16(kata, device, shape):
    # bf16 is the GPU tier (the interpreter's bf16 arithmetic is wrong). The rule: your error against a
    # float64 softmax is at most twice torch's own bf16 error on the same input, plus a hair.
    x = randn(shape, torch.bfloat16, device, seed=shape[1])
    mod = kata.module()
    with guard_allocations():
        out = mod.softmax(x)
    expect(out.dtype == torch.bfloat16 and out.shape == x.shape,
           f"softmax(x) of a {describe(x)} input returned {describe(out)}: same shape and dtype as x")
    want = oracle(x)
    err = (out.double().cpu() - want).abs().max().item()
    torch_err = (torch.softmax(x, dim=-1).double().cpu() - want).abs().max().item()
    kata.record(max_error=err, torch_max_error=torch_err)
    expect(err <= 2 * torch_err + 1e-6,
           f"softmax(x) on {describe(x)}: largest error {err:.3g} against a float64 softmax; torch.softmax in "
           f"bf16 is off by at most {torch_err:.3g} and the gate is twice that. Compute in fp32 inside the "
           "kernel (x.to(tl.float32)) and round to bf16 once, at the store.")


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved(kata, device, dtype):
    # 37 rows of 1000 taken from rows 1024 wide: the row stride is not n_cols and the last block of
    # each row is partial. The fused kernel reads each element once and writes each once.
    rows, n = 37, 1000
    x = randn((rows, 1024), DTYPES[dtype], device, 0)[:, :n]
    isz = x.element_size()
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        out = mod.softmax(x)
    assert_close(out, oracle(x), **TOL[x.dtype], what="softmax(x)", on=f"the bytes-moved input {describe(x)}")
    need = 2 * rows * n * isz
    kata.record(bytes_moved=moved.total, bytes_minimum=need, bytes_ratio=round(moved.total / need, 3),
                launches=moved.launches)
    if moved.total <= need:
        return
    why = []
    if moved.launches > 1:
        why.append(f"{moved.launches} kernel launches: each step in its own kernel (max, exp, sum, divide) "
                   "sends the row through memory again; keep the row in registers from load to store")
    if moved.loaded > rows * n * isz:
        why.append(f"kernels loaded {moved.loaded // isz:,} elements' worth where reading x once is {rows * n:,}: "
                   "a second pass over the row, an fp32 temporary, or an unmasked load reading padding")
    if moved.stored > rows * n * isz:
        why.append(f"kernels stored {moved.stored // isz:,} elements' worth where writing the output once is "
                   f"{rows * n:,}: temporaries written to memory, or an unmasked store")
    if moved.torch_bytes:
        why.append(f"torch copies and fills moved {moved.torch_bytes:,} bytes ({'; '.join(moved.torch_ops[:3])}): "
                   "a .contiguous() copy of a strided input reads and writes it all once more; pass the "
                   "strides to the kernel instead, and allocate the output with torch.empty")
    pytest.fail(f"softmax(x) on {describe(x)} moved {moved.total:,} bytes; the minimum is 2 x {rows} x {n} x "
                f"{isz} = {need:,} (read x once, write the output once), so you moved {moved.total / need:.2f}x "
                f"that, and the gate is 1x.\n  {moved}\n  - " + "\n  - ".join(why), pytrace=False)


# ---------------------------------------------------------------------------------- bandwidth (GPU)

# Figures to expect (DESIGN, H200): a simple fused Triton softmax 0.93-0.95 of copy bandwidth,
# torch.softmax 0.46 (fp32) and 0.25 (bf16). The naive five-kernel control moves about 8 passes
# (fp32) to 13 passes (bf16, fp32 temporaries) where 2 suffice: at most 0.25 of copy, slower than torch.
GPU_SHAPE = (16384, 8192)
FRACTION_OF_COPY = 0.75
VS_TORCH = 1.0


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_bandwidth(kata, dtype):
    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    mod = kata.module()
    x = torch.randn(GPU_SHAPE, device="cuda").to(dt)
    out = mod.softmax(x)  # compiles, and checks the timed input
    want = torch.softmax(x.float(), dim=-1)
    expect((out.float() - want).abs().max().item() < 1e-2,
           f"softmax(x) on {GPU_SHAPE} {dtype} is wrong: fix correctness before speed")
    del out, want
    ms = gpu_ms(lambda: mod.softmax(x))
    torch_ms = gpu_ms(lambda: torch.softmax(x, dim=-1))
    nbytes = 2 * x.numel() * x.element_size()
    copy = copy_bandwidth()
    frac, ratio = nbytes / (ms * 1e-3) / copy, torch_ms / ms
    kata.record(ms=round(ms, 4), gbps=round(gbps(nbytes, ms), 1), copy_gbps=round(copy / 1e9, 1),
                fraction_of_copy=round(frac, 3), torch_ms=round(torch_ms, 4), speed_vs_torch=round(ratio, 3),
                torch_fraction_of_copy=round(nbytes / (torch_ms * 1e-3) / copy, 3))
    expect(frac >= FRACTION_OF_COPY, (
        f"softmax(x) on {GPU_SHAPE} {dtype} took {ms:.3f} ms: {gbps(nbytes, ms):,.0f} GB/s counting the "
        f"{nbytes / 1e9:.2f} GB that must move (read x, write out), {frac:.2f} of this GPU's copy bandwidth "
        f"({copy / 1e9:,.0f} GB/s); the gate is {FRACTION_OF_COPY}.\n  Each extra kernel or temporary is "
        "another pass over memory: keep the row in registers from load to store. num_warps matters for long "
        "rows (8 for 8192 columns)."))
    expect(ratio >= VS_TORCH, (
        f"softmax(x) on {GPU_SHAPE} {dtype} took {ms:.3f} ms, torch.softmax {torch_ms:.3f} ms: {ratio:.2f}x "
        f"torch's speed; the gate is {VS_TORCH}x. A fused kernel reading each row once beats torch's "
        "general-purpose kernel here."))
