"""YUV 4:2:0 to RGB: every pixel within 1 of a float64 reference computed from the BT.601/BT.709
equations (limited and full range), for I420 and NV12, odd sizes, padded strides; inputs unchanged and
nothing written outside the output; a run under AddressSanitizer with exact-size planes; and the
instruction count of a 640x360 frame under callgrind (built -O3 -march=x86-64-v3: vectorise)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.toolkit import expect
from native import sanitize
from native.measure import callgrind

CDEF = """
void i420_to_rgb(const uint8_t *y, const uint8_t *u, const uint8_t *v, int w, int h, int stride_y, int stride_uv,
                 int matrix, int range, uint8_t *rgb);
void nv12_to_rgb(const uint8_t *y, const uint8_t *uv, int w, int h, int stride_y, int stride_uv, int matrix,
                 int range, uint8_t *rgb);
"""
KR = {0: (0.299, 0.114), 1: (0.2126, 0.0722)}
MATRIX = {0: "BT.601", 1: "BT.709"}
RANGE = {0: "limited", 1: "full"}
GATE = 30.0  # instructions per pixel


def reference(Y, U, V, matrix, rng):
    kr, kb = KR[matrix]
    kg = 1 - kr - kb
    h, w = Y.shape
    Uf = np.repeat(np.repeat(U, 2, 0), 2, 1)[:h, :w].astype(np.float64)
    Vf = np.repeat(np.repeat(V, 2, 0), 2, 1)[:h, :w].astype(np.float64)
    if rng == 1:
        y, pb, pr = Y / 255.0, (Uf - 128) / 255.0, (Vf - 128) / 255.0
    else:
        y, pb, pr = (Y - 16.0) / 219.0, (Uf - 128) / 224.0, (Vf - 128) / 224.0
    r = y + 2 * (1 - kr) * pr
    b = y + 2 * (1 - kb) * pb
    g = (y - kr * r - kb * b) / kg
    return np.clip(np.rint(np.stack([r, g, b], -1) * 255), 0, 255)


def frame(w, h, seed, pad_y=0, pad_uv=0):
    r = np.random.default_rng(seed)
    cw, ch = (w + 1) // 2, (h + 1) // 2
    Yp = r.integers(0, 256, (h, w + pad_y), dtype=np.uint8)
    Up = r.integers(0, 256, (ch, cw + pad_uv), dtype=np.uint8)
    Vp = r.integers(0, 256, (ch, cw + pad_uv), dtype=np.uint8)
    return Yp, Up, Vp


def run(kata, layout, w, h, matrix, rng, seed=0, pad_y=0, pad_uv=0):
    lib = kata.library(CDEF)
    Yp, Up, Vp = frame(w, h, seed, pad_y, pad_uv)
    cw = (w + 1) // 2
    out = np.full(3 * w * h + 64, 0xA5, dtype=np.uint8)
    before = [a.copy() for a in (Yp, Up, Vp)]
    if layout == "i420":
        lib.i420_to_rgb(Yp, Up, Vp, w, h, w + pad_y, cw + pad_uv, matrix, rng, out)
    else:
        UV = np.zeros((Up.shape[0], 2 * (cw + pad_uv)), dtype=np.uint8)
        UV[:, 0::2], UV[:, 1::2] = Up, Vp
        before.append(UV.copy())
        lib.nv12_to_rgb(Yp, UV, w, h, w + pad_y, 2 * (cw + pad_uv), matrix, rng, out)
        expect(np.array_equal(UV, before[3]), f"{layout}_to_rgb modified its UV plane: inputs are read-only")
    for a, b in zip((Yp, Up, Vp), before):
        expect(np.array_equal(a, b), f"{layout}_to_rgb modified an input plane: inputs are read-only")
    what = (f"{layout}_to_rgb {w}x{h} {MATRIX[matrix]} {RANGE[rng]} range"
            + (f" (stride_y {w + pad_y}, stride_uv {cw + pad_uv})" if pad_y or pad_uv else ""))
    expect((out[3 * w * h:] == 0xA5).all(), f"{what}: wrote past the end of the {3 * w * h}-byte output")
    got = out[:3 * w * h].reshape(h, w, 3).astype(np.int32)
    want = reference(Yp[:, :w].astype(np.float64), Up[:, :cw], Vp[:, :cw], matrix, rng)
    err = np.abs(got - want)
    if err.max() > 1:
        r, x, c = np.unravel_index(np.argmax(err), err.shape)
        pytest.fail(f"{what}: pixel (row {r}, col {x}) channel {'RGB'[c]} is {got[r, x, c]}, expected {int(want[r, x, c])} "
                    f"(Y={Yp[r, x]}, U={Up[r // 2, x // 2]}, V={Vp[r // 2, x // 2]}); {int((err > 1).sum())} values "
                    "off by more than 1", pytrace=False)
    return float(err.mean())


@pytest.mark.parametrize("rng", [0, 1], ids=["limited", "full"])
@pytest.mark.parametrize("matrix", [0, 1], ids=["bt601", "bt709"])
@pytest.mark.parametrize("layout", ["i420", "nv12"])
def test_matches_the_float_reference(kata, layout, matrix, rng):
    mean = run(kata, layout, 64, 48, matrix, rng, seed=matrix * 2 + rng)
    expect(mean < 0.5, f"{layout} {MATRIX[matrix]} {RANGE[rng]}: mean error {mean:.2f} levels; rounding should keep it "
                       "under 0.5")


@pytest.mark.parametrize("w,h", [(1, 1), (3, 1), (1, 3), (5, 7), (31, 17), (2, 2)])
@pytest.mark.parametrize("layout", ["i420", "nv12"])
def test_odd_sizes(kata, layout, w, h):
    run(kata, layout, w, h, 1, 0, seed=w * h)


@settings(max_examples=20, deadline=None)
@given(w=st.integers(1, 70), h=st.integers(1, 40), pad_y=st.integers(0, 9), pad_uv=st.integers(0, 9),
       layout=st.sampled_from(["i420", "nv12"]), matrix=st.integers(0, 1), rng=st.integers(0, 1))
def test_any_size_and_stride(kata, w, h, pad_y, pad_uv, layout, matrix, rng):
    run(kata, layout, w, h, matrix, rng, seed=w + 100 * h, pad_y=pad_y, pad_uv=pad_uv)


def test_extremes_clip(kata):
    """Limited-range input outside 16..235 (it happens) and saturated chroma must clip, not wrap."""
    lib = kata.library(CDEF)
    Y = np.array([[0, 255, 16, 235], [255, 0, 128, 128]], dtype=np.uint8)
    U = np.array([[0, 255]], dtype=np.uint8)
    V = np.array([[255, 0]], dtype=np.uint8)
    out = np.zeros(24, dtype=np.uint8)
    lib.i420_to_rgb(Y, U, V, 4, 2, 4, 2, 0, 0, out)
    want = reference(Y.astype(np.float64), U, V, 0, 0).astype(np.int32)
    got = out.reshape(2, 4, 3).astype(np.int32)
    expect(np.abs(got - want).max() <= 1, f"extreme values: got {got.tolist()}, expected {want.tolist()} (clip to 0..255)")


def test_no_memory_errors_under_asan(kata):
    sanitize.check_program(kata, "sanitize_yuv.c")


@pytest.mark.perf
def test_instruction_count(kata):
    prog = kata.program("bench_yuv.c", flags=["-O3", "-march=x86-64-v3"])
    counts = callgrind(prog, [], "i420_to_rgb")
    per = counts.instructions / (640 * 360)
    kata.record(instructions=counts.instructions, instructions_per_pixel=round(per, 1), gate_per_pixel=GATE)
    expect(per <= GATE, f"i420_to_rgb of a 640x360 frame: {counts.instructions:,} instructions, {per:.1f} per pixel; the "
                        f"gate is {GATE:.0f} (the reference: about 18 with 16-bit fixed point gcc vectorises; per-pixel "
                        "double arithmetic: about 130; scalar fixed point: about 50)")
