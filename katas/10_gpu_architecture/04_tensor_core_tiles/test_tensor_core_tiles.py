"""Tensor Core tiles: MMA shapes and counts, padding, wave quantization, tile intensity, a tiled-matmul
roofline. Exact (integers) or to 1e-12 (floats), on hand-worked cases, then hypothesis against oracles
written another way (tiles and waves counted one by one). GPU tier: waves() against the measured time of
an instructor's tiled matmul on grids just under and just over a whole wave."""
from __future__ import annotations

import math

import pytest
from hypothesis import Phase, given, settings, strategies as st

from kata.toolkit import expect

# Hypothesis explores but does not shrink: shrinking a wrong answer costs minutes on a loaded 2-core machine,
# and the failure message already names the input.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

H100_SMS, H100_BF16, H100_BW = 132, 989e12, 3.35e12


def close(got, want, what):
    expect(isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0),
           f"{what}: got {got!r}, expected {want!r}")


def raises_value_error(fn, *args, why=""):
    try:
        fn(*args)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"{fn.__name__}{args} ({why}) raised {type(e).__name__}: {e}; expected ValueError", pytrace=False)
    pytest.fail(f"{fn.__name__}{args} ({why}) returned instead of raising ValueError", pytrace=False)


def test_mma_shapes(kata):
    t = kata.module()
    for dtype, arch, want in [("bf16", "sm_80", (16, 8, 16)), ("fp16", "sm_90", (16, 8, 16)), ("tf32", "sm_90", (16, 8, 8)),
                              ("int8", "sm_80", (16, 8, 32)), ("fp8", "sm_90", (16, 8, 32)), ("fp64", "sm_80", (8, 8, 4))]:
        got = t.mma_shape(dtype, arch)
        expect(tuple(got) == want, f"mma_shape({dtype!r}, {arch!r}) = {got!r}, expected {want} (the table in the README)")
    raises_value_error(t.mma_shape, "fp8", "sm_80", why="sm_80 has no fp8 Tensor Core instruction")
    raises_value_error(t.mma_shape, "fp4", "sm_90", why="not in the table")
    raises_value_error(t.mma_shape, "bf16", "sm_75", why="not in the table")


@pytest.mark.parametrize("args,want", [
    ((16, 8, 16, "bf16"), 1), ((17, 8, 16, "bf16"), 2), ((16, 9, 16, "bf16"), 2), ((16, 8, 17, "bf16"), 2),
    ((1, 1, 1, "bf16"), 1), ((4096, 4096, 4096, "bf16"), 256 * 512 * 256), ((16, 8, 16, "tf32"), 2),
    ((16, 8, 64, "int8"), 2), ((8, 8, 8, "fp64"), 2), ((100, 100, 100, "fp16"), 7 * 13 * 7),
    ((4096, 4096, 4096, "fp8"), 256 * 512 * 128),
])
def test_mma_instructions(kata, args, want):
    t = kata.module()
    got = t.mma_instructions(*args, "sm_90")
    expect(got == want, f"mma_instructions{args + ('sm_90',)} = {got!r}, expected {want}: ceil(m/tm) x ceil(n/tn) x "
           "ceil(k/tk), a partial tile costing a whole instruction")


def test_padding(kata):
    t = kata.module()
    for args, want in [((100, 100, 100, 128, 128, 32), (128, 128, 128)), ((128, 128, 128, 128, 128, 32), (128, 128, 128)),
                       ((129, 1, 33, 128, 256, 32), (256, 256, 64)), ((4096, 11008, 4096, 128, 256, 64), (4096, 11008, 4096))]:
        got = t.padded(*args)
        expect(tuple(got) == want, f"padded{args} = {got!r}, expected {want}")
    close(t.wasted_fraction(100, 100, 100, 128, 128, 32), 1 - 100**3 / 128**3, "wasted_fraction(100, 100, 100, 128, 128, 32)")
    close(t.wasted_fraction(128, 256, 64, 128, 128, 32), 0.0, "wasted_fraction of an exact fit")
    close(t.wasted_fraction(4097, 4096, 4096, 128, 128, 64), 1 - 4097 / 4224, "wasted_fraction(4097, 4096, 4096, ...)")
    raises_value_error(t.padded, 0, 8, 8, 16, 8, 16, why="m = 0")
    raises_value_error(t.padded, 8, 8, 8, 16, 0, 16, why="a tile of width 0")


def test_waves(kata):
    t = kata.module()
    for args, want in [((4096, 4096, 128, 128, 132), (1024, 8, 1024 / 1056)),
                       ((4096, 4096, 128, 256, 132), (512, 4, 512 / 528)),
                       ((4096, 4096, 128, 128, 132, 2), (1024, 4, 1024 / 1056)),
                       ((2112, 2048, 128, 128, 132), (272, 3, 272 / 396)),     # one wave and a bit
                       ((128 * 12, 128 * 11, 128, 128, 132), (132, 1, 1.0)),  # exactly one wave
                       ((100, 100, 128, 128, 132), (1, 1, 1 / 132)),
                       ((4097, 4096, 128, 128, 108), (33 * 32, 10, 1056 / 1080))]:
        got = t.waves(*args)
        expect(len(got) == 3 and got[0] == want[0] and got[1] == want[1] and math.isclose(got[2], want[2], rel_tol=1e-12),
               f"waves{args} = {got!r}, expected (tiles, waves, efficiency) = {want!r}: tiles = ceil(m/bm) x ceil(n/bn) "
               "(a partial tile is a whole CTA), waves = ceil(tiles / (sms x ctas_per_sm))")


def test_intensity_and_tile_size(kata):
    t = kata.module()
    close(t.tile_intensity(128, 128, 2), 64.0, "tile_intensity(128, 128, bf16)")
    close(t.tile_intensity(128, 256, 2), 2 * 128 * 256 / (384 * 2), "tile_intensity(128, 256, bf16)")
    close(t.tile_intensity(64, 64, 4), 16.0, "tile_intensity(64, 64, fp32)")
    close(t.tile_intensity(1, 1, 1), 1.0, "tile_intensity(1, 1, 1)")
    got = t.smallest_square_tile(H100_BF16, H100_BW, 2)
    expect(got == 592, f"smallest_square_tile(H100 bf16: 989e12 FLOP/s, 3.35e12 B/s, 2 bytes) = {got!r}, expected 592: "
           "the ridge is 295.2 FLOP/byte and a t x t tile reaches t / 2 FLOP/byte in bf16")
    got = t.smallest_square_tile(H100_BF16, H100_BW, 1, 64)
    expect(got == 320, f"smallest_square_tile(..., fp8 (1 byte), multiple=64) = {got!r}, expected 320")
    got = t.smallest_square_tile(19.5e12, 2.0e12, 4)
    expect(got == 48, f"smallest_square_tile(19.5e12, 2.0e12, 4) = {got!r}, expected 48 (a ridge of 9.75: t/2 >= 9.75)")


def oracle_time(m, n, k, b, peak, bw, bm, bn, bk, sms, per_sm=1):
    """Counted CTA by CTA: every tile loads its A and B blocks; waves fill the SMs one slot at a time."""
    K = bk * (k // bk + (k % bk > 0))
    tiles = sum(1 for _ in range(0, m, bm)) * sum(1 for _ in range(0, n, bn))
    slots, w, left = sms * per_sm, 0, tiles
    while left > 0:
        w, left = w + 1, left - slots
    compute = w * slots * 2 * bm * bn * K / peak
    memory = (tiles * (bm * K + K * bn) + m * n) * b / bw
    return (compute, "compute") if compute >= memory else (memory, "memory")


@pytest.mark.parametrize("what,args", [
    ("a big bf16 matmul on an H100", (8192, 8192, 8192, 2, H100_BF16, H100_BW, 128, 256, 64, H100_SMS)),
    ("one tile more than a wave", (128 * 12 + 1, 128 * 11, 4096, 2, H100_BF16, H100_BW, 128, 128, 64, H100_SMS)),
    ("decode-time GEMV (m = 1): memory-bound", (1, 8192, 8192, 2, H100_BF16, H100_BW, 64, 128, 64, H100_SMS)),
    ("small tiles: memory-bound", (8192, 8192, 8192, 2, H100_BF16, H100_BW, 32, 32, 32, H100_SMS)),
    ("two CTAs per SM", (4096, 4096, 4096, 2, H100_BF16, H100_BW, 128, 128, 64, H100_SMS, 2)),
    ("k not a multiple of bk", (4096, 4096, 1000, 2, H100_BF16, H100_BW, 128, 128, 64, H100_SMS)),
])
def test_matmul_time(kata, what, args):
    t = kata.module()
    got = t.matmul_time(*args)
    want = oracle_time(*args)
    expect(len(got) == 2 and got[1] == want[1], f"matmul_time{args} [{what}]: bound {got!r}, expected {want[1]!r}")
    close(got[0], want[0], f"matmul_time{args} [{what}] seconds")


@settings(max_examples=120, deadline=None, phases=NO_SHRINK)
@given(m=st.integers(1, 20000), n=st.integers(1, 20000), k=st.integers(1, 20000), b=st.sampled_from([1, 2, 4]),
       bm=st.sampled_from([16, 32, 64, 128, 256]), bn=st.sampled_from([16, 32, 64, 128, 256]),
       bk=st.sampled_from([16, 32, 64, 128]), sms=st.integers(1, 200), per_sm=st.integers(1, 4),
       peak=st.floats(1e12, 2e15), bw=st.floats(1e11, 1e13))
def test_hypothesis(kata, m, n, k, b, bm, bn, bk, sms, per_sm, peak, bw):
    t = kata.module()
    args = (m, n, k, b, peak, bw, bm, bn, bk, sms, per_sm)
    got, want = t.matmul_time(*args), oracle_time(*args)
    expect(got[1] == want[1], f"matmul_time{args}: bound {got[1]!r}, expected {want[1]!r}")
    close(got[0], want[0], f"matmul_time{args} seconds")
    tiles = sum(1 for _ in range(0, m, bm)) * sum(1 for _ in range(0, n, bn))
    got_w = t.waves(m, n, bm, bn, sms, per_sm)
    expect(got_w[0] == tiles, f"waves({m}, {n}, {bm}, {bn}, {sms}, {per_sm}): {got_w[0]!r} tiles, expected {tiles}")
    M, N, K = (sum(bm for _ in range(0, m, bm)), sum(bn for _ in range(0, n, bn)), sum(bk for _ in range(0, k, bk)))
    got_p = t.padded(m, n, k, bm, bn, bk)
    expect(tuple(got_p) == (M, N, K), f"padded({m}, {n}, {k}, {bm}, {bn}, {bk}) = {got_p!r}, expected {(M, N, K)}")
    want_mma = sum(1 for _ in range(0, m, 16)) * sum(1 for _ in range(0, n, 8)) * sum(1 for _ in range(0, k, 16))
    got_mma = t.mma_instructions(m, n, k, "bf16", "sm_90")
    expect(got_mma == want_mma, f"mma_instructions({m}, {n}, {k}, 'bf16') = {got_mma!r}, expected {want_mma}")


# ------------------------------------------------------------------------------------ GPU tier

@pytest.mark.gpu
@pytest.mark.wallclock  # timed: `kata check` runs it alone, never beside other tests using the GPU
@pytest.mark.time_limit(300)
def test_waves_against_the_gpu(kata):
    """An instructor's Tensor Core probe (support/wave_probe.py: one CTA per 128 x 256 tile of C, a chain of
    K / 64 = 128 MMAs on operands loaded once, so a CTA's time is its Tensor Core work) on grids of S, S + 1,
    2S and 2S + 1 tiles, S = SMs x the CTAs an SM holds (the driver's occupancy calculator, for the
    compiled kernel). The times relative to S tiles must be within 30% of your waves() relative to S
    tiles: one tile past a full wave costs a whole wave. (A streaming tiled matmul is memory-bound here:
    on an H100 its 133rd tile cost 0.38 of a wave, so it could not test the model.)"""
    import importlib.util

    import torch

    from kata.cudakit import CudaDriver
    from kata.timing import gpu_ms

    t = kata.module()
    spec = importlib.util.spec_from_file_location("wave_probe", kata.support("wave_probe.py"))
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    drv = CudaDriver()
    sms = drv.attr(16)  # CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
    K, n = 8192, probe.BN
    f16 = dict(device="cuda", dtype=torch.float16)
    b = torch.randn(K, n, **f16)
    compiled = probe.launch(torch.randn(probe.BM, K, **f16), b, torch.empty(probe.BM, n, **f16))
    shared, regs = int(compiled.metadata.shared), int(compiled.n_regs)
    c_ = drv.ctypes
    blocks = c_.c_int()  # the CTAs an SM holds, from the driver's own calculator, for this compiled kernel
    drv.call("cuOccupancyMaxActiveBlocksPerMultiprocessor", c_.byref(blocks), c_.c_void_p(compiled.function),
             8 * 32, c_.c_size_t(shared))  # num_warps=8
    per_sm = blocks.value
    expect(per_sm >= 1, f"the driver says an SM holds no CTA of the probe ({shared} bytes of shared memory)")
    slots = sms * per_sm
    rows = []
    for tiles in (slots, slots + 1, 2 * slots, 2 * slots + 1):
        a = torch.randn(tiles * probe.BM, K, **f16)
        c = torch.empty(tiles * probe.BM, n, **f16)
        ms = gpu_ms(lambda: probe.launch(a, b, c))  # noqa: B023 - called right here
        _, w, _ = t.waves(tiles * probe.BM, n, probe.BM, probe.BN, sms, per_sm)
        rows.append((tiles, ms, w))
        a = c = None
    base_ms, base_w = rows[0][1], rows[0][2]
    table = [(tiles, ms / base_ms, w / base_w) for tiles, ms, w in rows]
    kata.record(sms=sms, ctas_per_sm=per_sm, shared_bytes=shared, registers=regs,
                **{f"tiles{tiles}": f"{r:.2f}x measured, {m:.2f}x model" for tiles, r, m in table})
    bad = [(tiles, r, m) for tiles, r, m in table if not (0.7 * m <= r <= 1.3 * m)]
    expect(not bad, f"your waves() does not track the measured time ({sms} SMs, {per_sm} CTA(s) per SM): " + "; ".join(
        f"{tiles} tiles took {r:.2f}x the time of {slots}, your waves() predicts {m:.2f}x" for tiles, r, m in bad))
