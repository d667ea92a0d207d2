"""Operator fusion: y = dropout(gelu(x + bias), p) in one Triton kernel. GELU values at p = 0 against
float64 (awkward shapes, strided x, fp16); the dropout at p > 0 read back from y itself (kept elements are
nonzero: the inputs keep gelu(x + bias) away from 0): kept values rescaled by 1/(1-p), the kept fraction
within a binomial bound, no mask shared between rows or columns, reproducible per seed, independent of x's
memory layout. Then bytes moved (interpreter: x, bias and y once; the mask never touches memory) and, on
a GPU, bf16 and bandwidth."""
import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from kata.testing import assert_close
from kata.timing import gpu_ms
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bandwidth, check_bytes, describe, expect, randn

randn = partial(randn, scale=2.0)  # the inputs: 2 * N(0, 1), seeded

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
# (atol, rtol) of the output dtype's rounding; fp32 also allows the erf formula's error (a few 1e-7).
TOL = {torch.float32: (1e-6, 1e-5), torch.float16: (1e-3, 2e-3), torch.bfloat16: (8e-3, 8e-3)}
SEED = 1234
# The kept count of an independent mask of n elements is Binomial(n, 1 - p); the tests allow 6 standard
# deviations either side: a correct kernel fails that with probability about 2e-9 per seed (the seeds here
# are fixed, so a given kernel passes or fails the same way every run).
SIGMAS = 6.0


# ------------------------------------------------------------------------------------------- helpers


def away_from_zero(rows, cols, dtype, device, seed):
    """x and bias with |x + bias| in [0.25, 4]: gelu(x + bias) is never 0 (nor underflows to 0 in fp32 or
    fp16), so an element of y is 0 exactly when dropout dropped it."""
    g = torch.Generator().manual_seed(seed)
    b = 0.5 * torch.randn(cols, generator=g)
    mag = 0.25 + 3.75 * torch.rand(rows, cols, generator=g)
    sign = torch.where(torch.rand(rows, cols, generator=g) < 0.5, -1.0, 1.0)
    x = sign * mag - b[None, :]
    return x.to(dtype=dtype, device=device), b.to(dtype=dtype, device=device)


def gelu64(x, b, approximate="none"):
    return F.gelu(x.cpu().double() + b.cpu().double()[None, :], approximate=approximate)


def tolerance(x, b, scale=1.0):
    """Per element: the output dtype's rounding, plus float32's rounding of h = x + b (GELU's slope is at most
    1.13), all times the dropout scale 1/(1-p)."""
    atol, rtol = TOL[x.dtype]
    want = gelu64(x, b).abs() * scale
    h_err = 1.2 * 2.0 ** -23 * (x.cpu().double().abs() + b.cpu().double().abs()[None, :])
    return (atol + h_err) * scale + rtol * want


def call(kata, x, b, p, seed, on):
    """The learner's bias_gelu_dropout(x, b, p, seed), under the guards; checks everything but the values."""
    guard = forbid_torch_compute()
    # y comes back NaN-filled between poisoned margins; x and bias stay as they were; y is like x
    y = call_checked(kata.module().bias_gelu_dropout, x, b, p, seed, name="bias_gelu_dropout()", on=on,
                     within=[guard], guard=True, like=x)
    expect(guard.launches >= 1, f"bias_gelu_dropout() on {on} launched no Triton kernel: compute y in one")
    return y


def check_gelu(y, x, b, on):
    """p = 0: y must be exact (erf) GELU of x + bias."""
    __tracebackhide__ = True
    got, want, tol = y.cpu().double(), gelu64(x, b), tolerance(x, b)
    if ((got - want).abs() <= tol).all():
        return
    hint = ""
    rows, cols = x.shape
    if torch.isnan(got).any():
        hint = "\n  NaN: those elements were never written (a mask or a grid that stops short of the last rows or columns?)"
    elif ((got - gelu64(x, b, "tanh")).abs() <= tol).all():
        hint = ("\n  Your values match the tanh approximation of GELU. This kata asks for the exact one (F.gelu's "
                "default): 0.5 * h * (1 + erf(h / sqrt(2))), with tl.erf")
    elif rows <= cols and ((got - F.gelu(x.cpu().double() + b.cpu().double()[:rows, None])).abs() <= tol).all():
        hint = ("\n  Your values are gelu(x[i, j] + bias[i]): the bias was added along the rows. bias has one value "
                "per column: element (i, j) gets bias[j] (in a tile, b[None, :] broadcast down the rows)")
    elif ((got - F.gelu(x.cpu().double())).abs() <= tol).all():
        hint = "\n  Your values are gelu(x): the bias was never added"
    try:
        assert_close(got, want, atol=float(tol.max()), what="bias_gelu_dropout(x, bias, p=0)", on=on)
        raise AssertionError(f"bias_gelu_dropout(x, bias, p=0) on {on}: some elements are outside the per-element "
                             "tolerance (the output dtype's rounding plus float32 rounding of x + bias)")
    except AssertionError as e:
        raise AssertionError(str(e) + hint) from None


def kept_mask(y):
    return y.cpu() != 0  # a NaN (never written) counts as kept, and then fails the value check


def check_dropout(y, x, b, p, on):
    """p > 0: dropped elements are 0, kept ones gelu(x + bias) / (1 - p), and about 1 - p of them are kept."""
    __tracebackhide__ = True
    scale = 1.0 / (1.0 - p)
    got, g = y.cpu().double(), gelu64(x, b)
    kept = kept_mask(y)
    want = torch.where(kept, g * scale, torch.zeros_like(g))
    tol = tolerance(x, b, scale)
    if not ((got - want).abs() <= tol).all():
        hint = ""
        if torch.isnan(got).any():
            hint = "\n  NaN: those elements were never written"
        elif ((got - torch.where(kept, g, torch.zeros_like(g))).abs() <= tolerance(x, b)).all():
            hint = (f"\n  The kept values equal gelu(x + bias): they must be rescaled by 1 / (1 - p) = {scale:g}, so "
                    "that the expected value of y is gelu(x + bias) whatever p (inverted dropout)")
        try:
            assert_close(got, want, atol=float(tol.max()), what=f"bias_gelu_dropout(x, bias, p={p}) on the kept elements "
                         "(y != 0)", on=on)
            raise AssertionError(f"bias_gelu_dropout(x, bias, p={p}) on {on}: kept elements outside the per-element "
                                 "tolerance of gelu(x + bias) / (1 - p)")
        except AssertionError as e:
            raise AssertionError(str(e) + hint) from None
    n, k = kept.numel(), int(kept.sum())
    mean, sd = n * (1 - p), math.sqrt(n * p * (1 - p))
    expect(abs(k - mean) <= SIGMAS * sd, (
        f"bias_gelu_dropout(x, bias, p={p}) on {on} kept {k:,} of {n:,} elements ({k / n:.4f}); an element is kept "
        f"with probability 1 - p = {1 - p:g}, so {mean:,.0f} +- {SIGMAS * sd:,.0f} ({SIGMAS:g} standard deviations: a "
        "correct kernel fails this about twice in 10^9). Keep an element when its uniform number r >= p (r < p "
        "keeps a fraction p instead), and give every element its own random number."))
    return kept


def first_duplicate(mask, dim):
    """Two indices along `dim` whose masks are identical, or None."""
    seen = {}
    for i in range(mask.shape[dim]):
        key = mask.select(dim, i).numpy().tobytes()
        if key in seen:
            return seen[key], i
        seen[key] = i
    return None


# --------------------------------------------------------------------------------- GELU at p = 0

SHAPES = [(1, 1), (3, 1000), (13, 129), (5, 2049)]  # no dimension a multiple of a power of two above 1


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{r}x{c}" for r, c in SHAPES])
def test_gelu_fp32(kata, device, shape):
    rows, cols = shape
    x, b = randn(shape, torch.float32, device, rows + cols), randn(cols, torch.float32, device, cols)
    on = f"x {describe(x)}, bias ({cols},), p=0"
    check_gelu(call(kata, x, b, 0.0, SEED, on), x, b, on)


@pytest.mark.parametrize("shape", [(3, 1000), (13, 129)], ids=["3x1000", "13x129"])
def test_gelu_fp16(kata, device, shape):
    rows, cols = shape
    x, b = randn(shape, torch.float16, device, rows * cols), randn(cols, torch.float16, device, cols + 1)
    on = f"x {describe(x)}, bias ({cols},), p=0 (compute in float32, round once on the store)"
    check_gelu(call(kata, x, b, 0.0, SEED, on), x, b, on)


def test_gelu_wide_range(kata, device):
    # x + bias from -30 to 30: the tails of GELU (0 and x) must come out right, with no NaN or inf.
    x = torch.linspace(-30.0, 30.0, 4 * 500).reshape(4, 500).to(device)
    b = randn(500, torch.float32, device, 3, scale=0.5)
    on = "x from -30 to 30 (4, 500), p=0"
    check_gelu(call(kata, x, b, 0.0, SEED, on), x, b, on)


def _transposed(device):
    return randn((129, 13), torch.float32, device, 5).t()


def _every_other_column(device):
    return randn((9, 600), torch.float32, device, 6)[:, ::2]


@pytest.mark.parametrize("make", [_transposed, _every_other_column], ids=["transposed", "every_other_column"])
def test_gelu_strided_x(kata, device, make):
    # Pass x's strides to the kernel, or make x contiguous in the wrapper: both are fine here.
    x = make(device)
    b = randn(x.shape[1], torch.float32, device, 7)
    on = f"x {describe(x)}, p=0"
    check_gelu(call(kata, x, b, 0.0, SEED, on), x, b, on)


# ------------------------------------------------------------------------------------- dropout, p > 0

@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_values(kata, device, p):
    x, b = away_from_zero(16, 1000, torch.float32, device, seed=int(p * 10))
    on = f"x {describe(x)}, p={p}, seed={SEED}"
    check_dropout(call(kata, x, b, p, SEED, on), x, b, p, on)


def test_dropout_fp16(kata, device):
    x, b = away_from_zero(16, 1000, torch.float16, device, seed=11)
    on = f"x {describe(x)}, p=0.3, seed={SEED}"
    check_dropout(call(kata, x, b, 0.3, SEED, on), x, b, 0.3, on)


def test_masks_independent(kata, device):
    # Every element needs its own random number. Two independent rows of 1000 agree everywhere with probability
    # 2^-1000, two columns of 48 with 2^-48 (over the 499,500 pairs of columns: about 2e-9 in all).
    x, b = away_from_zero(48, 1000, torch.float32, device, seed=12)
    on = f"x {describe(x)}, p=0.5, seed={SEED}"
    kept = check_dropout(call(kata, x, b, 0.5, SEED, on), x, b, 0.5, on)
    dup = first_duplicate(kept, 0)
    expect(dup is None, (
        f"bias_gelu_dropout on {on}: rows {dup and dup[0]} and {dup and dup[1]} have the same dropout mask. Every "
        "row reuses the same random numbers: the offsets given to tl.rand depend on the column only (or repeat "
        "from one block of rows to the next). Give element (i, j) its own offset, e.g. i * n_cols + j."))
    dup = first_duplicate(kept, 1)
    expect(dup is None, (
        f"bias_gelu_dropout on {on}: columns {dup and dup[0]} and {dup and dup[1]} have the same dropout mask. The "
        "random numbers repeat along the row: offsets that restart in every column block (local lane numbers "
        "instead of global positions), or one rand4x output used for several groups of columns."))


def test_seed_reproducible(kata, device):
    # Same seed, same y: a backward pass regenerates the mask from the seed instead of storing it.
    x, b = away_from_zero(8, 1000, torch.float32, device, seed=13)
    on = f"x {describe(x)}, p=0.5"
    y1 = call(kata, x, b, 0.5, SEED, on + f", seed={SEED}")
    y2 = call(kata, x, b, 0.5, SEED, on + f", seed={SEED} again")
    y3 = call(kata, x, b, 0.5, SEED + 1, on + f", seed={SEED + 1}")
    check_dropout(y1, x, b, 0.5, on)
    expect(torch.equal(y1, y2), (
        f"bias_gelu_dropout on {on}: two calls with the same seed ({SEED}) gave different outputs "
        f"({int((y1 != y2).sum())} elements differ). The mask must be a function of the seed and the position only: "
        "tl.rand(seed, offsets), with no state carried between calls."))
    differ = float((kept_mask(y1) != kept_mask(y3)).double().mean())
    expect(differ >= 0.4, (
        f"bias_gelu_dropout on {on}: seeds {SEED} and {SEED + 1} gave masks that differ in only {differ:.1%} of "
        "the elements; independent masks at p=0.5 differ in 50%. Pass the seed to tl.rand (tl.rand(seed, offsets)): "
        "a different seed must give a different mask."))


def test_mask_ignores_layout(kata, device):
    # The mask is a function of (seed, shape, position): a strided x gives exactly what its contiguous copy gives.
    # Random numbers taken at x's memory offsets (i * stride_0 + j * stride_1) would change with the layout.
    x, b = away_from_zero(8, 1000, torch.float32, device, seed=14)
    xt = x.t().contiguous().t()  # the same values, strides (1, 8)
    on = f"x {describe(xt)} and its contiguous copy, p=0.5, seed={SEED}"
    y_strided = call(kata, xt, b, 0.5, SEED, on)
    y = call(kata, x, b, 0.5, SEED, on)
    check_dropout(y, x, b, 0.5, on)
    expect(torch.equal(y_strided, y), (
        f"bias_gelu_dropout on {on}: the strided x and its contiguous copy gave different outputs "
        f"({int((y_strided != y).sum())} elements differ). Element (i, j)'s random number must depend on (i, j) "
        "(offset i * n_cols + j), not on where x keeps it in memory."))


@pytest.mark.parametrize("case", ["p=1", "p<0", "bias_length"])
def test_bad_arguments_raise(kata, device, case):
    x = randn((4, 10), torch.float32, device, 0)
    b = randn(9 if case == "bias_length" else 10, torch.float32, device, 1)
    p = {"p=1": 1.0, "p<0": -0.1}.get(case, 0.5)
    mod = kata.module()
    try:
        with guard_allocations():
            out = mod.bias_gelu_dropout(x, b, p, SEED)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - any clear refusal will do; ValueError is what the README asks for
        return
    pytest.fail(f"bias_gelu_dropout(x (4, 10), bias ({b.shape[0]},), p={p}) returned "
                f"{type(out).__name__} instead of raising ValueError: p must be in [0, 1) (1 / (1 - p) is the "
                "scale) and bias needs one value per column of x", pytrace=False)


def test_no_torch_compute(kata, device):
    # F.gelu, F.dropout, torch.erf, x + b, y * scale in the wrapper all fail here, with the op named.
    x, b = away_from_zero(8, 500, torch.float32, device, seed=16)
    on = f"x {describe(x)}, p=0.5"
    check_dropout(call(kata, x, b, 0.5, SEED, on), x, b, 0.5, on)


# ------------------------------------------------------------------------------ bytes moved (CPU)

BYTES_SHAPE = (21, 1000)   # 21 rows: no power-of-two tile height divides it; 1000 columns: no width does
ROWS_PER_BIAS_READ = 8     # the bias may be read once per 8 rows (a tile of >= 8 rows loads it once)


@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved(kata, device, dtype):
    rows, cols = BYTES_SHAPE
    d = DTYPES[dtype]
    isz = d.itemsize
    x, b = away_from_zero(rows, cols, d, device, seed=17)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:  # the guard's own fills are not counted
        y = mod.bias_gelu_dropout(x, b, 0.5, SEED)
    check_dropout(y, x, b, 0.5, f"the bytes-moved input ({rows}x{cols} {dtype}, p=0.5)")
    xy = 2 * rows * cols * isz
    bias_reads = -(-rows // ROWS_PER_BIAS_READ)
    minimum, gate = xy + cols * isz, xy + bias_reads * cols * isz
    check_bytes(kata, moved, need=minimum, gate=gate,
                headline=f"bias_gelu_dropout on x ({rows}, {cols}) {dtype} moved {moved.total:,} bytes. The minimum is x "
                         f"and y once each plus the bias once, {minimum:,}; the gate allows the bias once per "
                         f"{ROWS_PER_BIAS_READ} rows ({bias_reads} reads): {gate:,}. You moved "
                         f"{moved.total / minimum:.2f}x the minimum.",
                launches=(1, "every intermediate (x + bias, gelu, the mask) that one kernel writes and the next reads "
                             "back is two more passes over memory. Do the whole chain in one kernel"),
                stored=(rows * cols * isz, "writing y once", "an intermediate or the dropout mask went to memory. Keep "
                        "the mask in registers: tl.rand(seed, offsets) >= p"),
                loaded=((rows * cols + bias_reads * cols) * isz, f"reading x once and the bias {bias_reads} times",
                        f"give each program a tile of at least {ROWS_PER_BIAS_READ} rows (BLOCK_M >= "
                        f"{ROWS_PER_BIAS_READ}), load the bias slice once and broadcast it down the rows (b[None, :]); "
                        "and mask every load"),
                torch_hint="allocate y with torch.empty and let the kernel do all the reading and writing")


# -------------------------------------------------------------------------------------------- GPU

@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(37, 1000), (1024, 4097)], ids=["37x1000", "1024x4097"])
def test_bf16(kata, device, shape):
    # bf16 is GPU-tier: the interpreter does bf16 arithmetic on raw bits.
    rows, cols = shape
    x, b = randn(shape, torch.bfloat16, device, rows), randn(cols, torch.bfloat16, device, cols)
    on = f"x {describe(x)}, p=0"
    check_gelu(call(kata, x, b, 0.0, SEED, on), x, b, on)
    x, b = away_from_zero(rows, cols, torch.bfloat16, device, seed=rows + 1)
    on = f"x {describe(x)}, p=0.2"
    check_dropout(call(kata, x, b, 0.2, SEED, on), x, b, 0.2, on)


GPU_SHAPE = (8192, 8192)    # fp32: 268 MB in, 268 MB out per call, far past any cache
GPU_P = 0.1
FRACTION_OF_COPY = 0.5  # H200: the reference 0.665 (Philox-bound), the three-kernel naive control 0.272
VS_EAGER = 1.8  # H200: the reference 2.70x eager, the naive control 1.10x


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
def test_bandwidth(kata):
    rows, cols = GPU_SHAPE
    mod = kata.module()
    x, b = randn(GPU_SHAPE, torch.float32, "cuda", 0), randn(cols, torch.float32, "cuda", 1)
    y = mod.bias_gelu_dropout(x, b, 0.0, SEED)  # compiles, and checks the timed input comes out right
    expect(torch.allclose(y, F.gelu(x + b), atol=1e-5, rtol=1e-5),
           f"bias_gelu_dropout on {GPU_SHAPE} fp32 at p=0 is not gelu(x + bias): fix correctness first")
    del y
    check_bandwidth(
        kata, what=f"bias_gelu_dropout on {GPU_SHAPE} fp32, p={GPU_P},",
        ms=gpu_ms(lambda: mod.bias_gelu_dropout(x, b, GPU_P, SEED)), nbytes=2 * rows * cols * 4 + cols * 4,
        moves="x in, y out", fraction=FRACTION_OF_COPY,
        baseline_ms=gpu_ms(lambda: F.dropout(F.gelu(x + b), GPU_P, training=True)), key="eager",
        baseline_name="eager F.dropout(F.gelu(x + b)) (three kernels and a stored mask)", vs_baseline=VS_EAGER,
        fraction_hint="Intermediates or a mask in memory multiply the traffic; a Philox call per element (tl.rand) "
                      "can make the kernel compute-bound: one tl.rand4x call gives four uniforms, enough for four "
                      "elements")
