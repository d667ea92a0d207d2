"""Shared-memory bank conflicts, exact.

CPU tier: banks of addresses; hand-worked warps (consecutive, strided, broadcast, 8- and 16-byte
accesses in their half- and quarter-warp phases, masked threads); column reads of tiles of every width
and their padding; hypothesis against an oracle that serves the warp bank by bank, one word per bank a
pass, until every thread has its data.
GPU tier: an instructor's kernel (support/bank_probe.cu) times strided shared-memory reads with clock64();
the cycles, relative to stride 1, must follow your wavefront counts.
"""
from __future__ import annotations

import pytest
from hypothesis import Phase, given, settings, strategies as st

from kata.toolkit import expect

# Hypothesis explores but does not shrink: shrinking a wrong answer costs minutes on a loaded 2-core machine,
# and the failure message already names the input.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


def served(addresses, w):
    """The oracle: simulate the hardware. Each pass, every bank delivers one word it is asked for (to all
    the threads wanting that word); count the passes until nothing is left. 8- and 16-byte accesses
    go 128 bytes at a time: 16 or 8 threads per phase."""
    per = 32 // max(1, w // 4)
    total, worst = 0, 0
    for i in range(0, len(addresses), per):
        wanted = {word for a in addresses[i:i + per] if a is not None for word in range(a // 4, (a + w - 1) // 4 + 1)}
        passes = 0
        while wanted:
            passes += 1
            served_now = {}
            for word in sorted(wanted):
                served_now.setdefault(word % 32, word)  # a bank delivers one word this pass
            wanted -= set(served_now.values())
        total += passes
        worst = max(worst, passes)
    return total, worst


def shown(addresses):
    if len(addresses) <= 6:
        return repr(list(addresses))
    return f"[{addresses[0]}, {addresses[1]}, {addresses[2]}, ..., {addresses[-1]}] ({len(addresses)} threads)"


def test_bank(kata):
    b = kata.module()
    for a, want in [(0, 0), (3, 0), (4, 1), (124, 31), (127, 31), (128, 0), (130, 0), (264, 2), (4096 + 36, 9)]:
        got = b.bank(a)
        expect(got == want, f"bank({a}) = {got!r}, expected {want}: bank = (address // 4) % 32 (4-byte words, 32 banks)")
    with pytest.raises(ValueError):
        b.bank(-4)


WARPS = [  # (what, addresses, access_bytes, wavefronts, degree)
    ("32 consecutive floats", [4 * t for t in range(32)], 4, 1, 1),
    ("every 2nd float", [8 * t for t in range(32)], 4, 2, 2),
    ("every 4th float", [16 * t for t in range(32)], 4, 4, 4),
    ("every 32nd float (a column of float[32][32])", [128 * t for t in range(32)], 4, 32, 32),
    ("every 33rd float (a column of float[32][33])", [132 * t for t in range(32)], 4, 1, 1),
    ("every 3rd float", [12 * t for t in range(32)], 4, 1, 1),
    ("all threads on one float (broadcast)", [256] * 32, 4, 1, 1),
    ("two words of bank 0, 16 threads each", [128 * (t % 2) for t in range(32)], 4, 2, 2),
    ("a permutation of 32 consecutive floats", [4 * ((5 * t) % 32) for t in range(32)], 4, 1, 1),
    ("32 consecutive doubles (two half-warp phases)", [8 * t for t in range(32)], 8, 2, 1),
    ("every 2nd double", [16 * t for t in range(32)], 8, 4, 2),
    ("32 consecutive float4 (four quarter-warp phases)", [16 * t for t in range(32)], 16, 4, 1),
    ("32 consecutive chars (four to a word)", list(range(32)), 1, 1, 1),
    ("chars 128 bytes apart", [128 * t for t in range(32)], 1, 32, 32),
    ("32 consecutive shorts", [2 * t for t in range(32)], 2, 1, 1),
    ("threads 16..31 inactive, stride 32 floats", [128 * t if t < 16 else None for t in range(32)], 4, 16, 16),
    ("no thread active", [None] * 32, 4, 0, 0),
    ("doubles: first half-warp inactive", [None] * 16 + [8 * t for t in range(16)], 8, 1, 1),
]


@pytest.mark.parametrize("what,addresses,w,waves,degree", WARPS, ids=[x[0] for x in WARPS])
def test_one_warp(kata, what, addresses, w, waves, degree):
    b = kata.module()
    assert served(addresses, w) == (waves, degree)  # the table agrees with the oracle
    got = b.wavefronts(list(addresses), w)
    expect(got == waves, f"wavefronts({shown(addresses)}, {w}) [{what}]: {got!r}, expected {waves}")
    got = b.conflict_degree(list(addresses), w)
    expect(got == degree, f"conflict_degree({shown(addresses)}, {w}) [{what}]: {got!r}, expected {degree}")


def test_errors(kata):
    b = kata.module()
    for args, why in [(([4 * t for t in range(33)], 4), "33 addresses"), (([6], 4), "a float at byte 6"),
                      (([8], 16), "a float4 at byte 8"), (([0], 12), "12-byte accesses"), (([-8], 4), "a negative address")]:
        for fn in (b.wavefronts, b.conflict_degree):
            try:
                fn(*args)
            except ValueError:
                continue
            except NotImplementedError:
                raise
            except Exception as e:  # noqa: BLE001
                pytest.fail(f"{fn.__name__} with {why} raised {type(e).__name__}: {e}; expected ValueError", pytrace=False)
            pytest.fail(f"{fn.__name__} with {why} returned instead of raising ValueError", pytrace=False)


TILES = [  # (width, elem_bytes, column degree, padding)
    (32, 4, 32, 1), (33, 4, 1, 0), (64, 4, 32, 1), (48, 4, 16, 1), (16, 4, 16, 1), (8, 4, 8, 1), (31, 4, 1, 0),
    (1, 4, 1, 0), (96, 4, 32, 1), (40, 4, 8, 1),
    (32, 8, 16, 1), (33, 8, 1, 0), (16, 8, 16, 1), (64, 8, 16, 1),
    (32, 16, 8, 1), (33, 16, 1, 0), (8, 16, 8, 1),
    (64, 2, 32, 2), (65, 2, 2, 1), (32, 2, 16, 1), (128, 1, 32, 4),
]


@pytest.mark.parametrize("width,e,degree,pad", TILES, ids=[f"T{e * 8}[32][{w}]" for w, e, _, _ in TILES])
def test_tile_columns(kata, width, e, degree, pad):
    b = kata.module()
    addrs = b.column_addresses(width, 0, e)
    expect(list(addrs) == [t * width * e for t in range(32)],
           f"column_addresses({width}, 0, {e}): {shown(list(addrs))}, expected thread t at byte t * {width} * {e}")
    addrs = b.column_addresses(width, 5, e, 8)
    expect(list(addrs) == [(t * width + 5) * e for t in range(8)],
           f"column_addresses({width}, col=5, elem_bytes={e}, rows=8): {list(addrs)}, expected (t * width + col) * elem_bytes")
    assert served([t * width * e for t in range(32)], e)[1] == degree
    got = b.column_degree(width, e)
    expect(got == degree, f"column_degree({width}, {e}): {got!r}, expected {degree}: reading a column of a "
           f"{e}-byte tile[32][{width}] puts threads {width * e} bytes apart")
    got = b.padding(width, e)
    expect(got == pad, f"padding({width}, {e}): {got!r}, expected {pad}: the fewest extra elements per row that make "
           "the column read conflict-free (try widths one element at a time; short and char tiles may need more "
           "than one, since several elements share a word)")


@settings(max_examples=120, deadline=None, phases=NO_SHRINK)
@given(w=st.sampled_from([1, 2, 4, 8, 16]), data=st.data())
def test_hypothesis_against_the_simulation(kata, w, data):
    b = kata.module()
    stride = data.draw(st.sampled_from([None, 0, 1, 2, 3, 4, 8, 16, 17, 31, 32, 33, 64]), label="stride")
    if stride is None:
        slots = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 300)), max_size=32), label="slots")
    else:
        n = data.draw(st.integers(0, 32), label="threads")
        slots = [stride * t for t in range(n)]
    addresses = [None if s is None else s * w for s in slots]
    waves, degree = served(addresses, w)
    got = b.wavefronts(addresses, w)
    expect(got == waves, f"wavefronts({addresses}, {w}): {got!r}, expected {waves} (served bank by bank)")
    got = b.conflict_degree(addresses, w)
    expect(got == degree, f"conflict_degree({addresses}, {w}): {got!r}, expected {degree}")


# ------------------------------------------------------------------------------------ GPU tier

@pytest.mark.gpu
@pytest.mark.wallclock  # timed: `kata check` runs it alone, never beside other tests using the GPU
@pytest.mark.time_limit(300)
def test_model_against_the_gpu(kata, tmp_path):
    """One block of 32 warps reads shared memory at buf[lane * stride] (support/bank_probe.cu, 4096 reads a
    warp, timed with clock64()). The cycles the block takes, relative to stride 1, must follow your
    wavefronts() of that warp's addresses within a factor of 2: strides 1 to 32, and 33 (a padded column)."""
    import torch

    from kata.cudakit import CudaDriver

    b = kata.module()
    torch.zeros(1, device="cuda")  # torch's context first: the probe runs on the same (primary) one
    drv = CudaDriver()
    fn = drv.kernel(drv.cubin(kata.support("bank_probe.cu"), tmp_path / "bank_probe.cubin", "-O3"), "bank_probe")
    cycles = torch.zeros(1, dtype=torch.int64, device="cuda")
    sink = torch.empty(1024, device="cuda")

    def timed(stride: int) -> int:
        best = None
        for _ in range(5):
            drv.launch(fn, grid=1, block=1024, args=[drv.ptr(cycles), drv.ptr(sink), drv.i32(stride), drv.i32(256)])
            drv.sync()
            c = int(cycles.item())
            best = c if best is None else min(best, c)
        return best

    rows = []
    for stride in (1, 2, 4, 8, 16, 32, 33):
        model = b.wavefronts([4 * stride * lane for lane in range(32)])
        rows.append((stride, timed(stride), model))
    base_cycles, base_model = rows[0][1], rows[0][2]
    table = [(s, c / base_cycles, m / base_model) for s, c, m in rows]
    kata.record(**{f"stride{s}": f"{r:.2f}x measured, {m:.2f}x model" for s, r, m in table})
    bad = [(s, r, m) for s, r, m in table if not (m / 2 <= r <= m * 2)]
    expect(not bad, "your wavefront counts do not track the measured cycles: " + "; ".join(
        f"stride {s}: measured {r:.2f}x the cycles of stride 1, your model predicts {m:.2f}x" for s, r, m in bad))
