"""Data-oriented layout: the world must behave exactly like an array of particle_t (checked against
numpy, every field, cold ones included), free what it allocates, and then touch far fewer cache lines
than an array of particle_t in its two hot loops (simulated cache, exact counts)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close, assert_equal, assert_unchanged
from native import sanitize
from native.measure import Cache, callgrind

CDEF = """
typedef struct {
    float x, y, z; float vx, vy, vz; float mass; uint32_t id; char name[32]; double born; uint64_t flags;
    float color[4];
} particle_t;
typedef struct world world_t;
world_t *world_create(const particle_t *init, size_t n);
void world_step(world_t *w, float dt);
double world_kinetic_energy(const world_t *w);
void world_get(const world_t *w, size_t i, particle_t *out);
void world_destroy(world_t *w);
"""
PARTICLE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("vx", "<f4"), ("vy", "<f4"), ("vz", "<f4"),
                     ("mass", "<f4"), ("id", "<u4"), ("name", "S32"), ("born", "<f8"), ("flags", "<u8"),
                     ("color", "<f4", (4,))], align=True)
HOT = ["x", "y", "z", "vx", "vy", "vz", "mass"]


def load(kata):
    lib = sanitize.counted_library(kata, CDEF)
    assert lib.ffi.sizeof("particle_t") == PARTICLE.itemsize == 96
    return lib


def particles(n, seed=0):
    rng = np.random.default_rng(seed)
    p = np.zeros(n, dtype=PARTICLE)
    for f in HOT:
        p[f] = rng.uniform(-10, 10, n).astype(np.float32)
    p["mass"] = rng.uniform(0.5, 3, n).astype(np.float32)
    p["id"] = rng.permutation(n).astype(np.uint32) + 1000
    p["name"] = [f"particle-{i:05d}".encode() for i in range(n)]
    p["born"] = rng.uniform(0, 1e9, n)
    p["flags"] = rng.integers(0, 2**63, n, dtype=np.uint64)
    p["color"] = rng.uniform(0, 1, (n, 4)).astype(np.float32)
    return p


def step(p, dt):
    q = p.copy()
    dt = np.float32(dt)
    for a, v in (("x", "vx"), ("y", "vy"), ("z", "vz")):
        q[a] = (q[a] + q[v] * dt).astype(np.float32)
    return q


def energy(p):
    v2 = p["vx"].astype(np.float64) ** 2 + p["vy"].astype(np.float64) ** 2 + p["vz"].astype(np.float64) ** 2
    return float(np.sum(0.5 * p["mass"].astype(np.float64) * v2))


def run(kata, lib, p, n, ops):
    """world_create(p, n), then ops (("step", dt), ("read",), ("energy",)) and world_destroy, through
    the probe beside the library. Returns None if world_create gave NULL, else one result per op: a
    read is the n particles world_get gave, as an array of PARTICLE."""
    got = kata.probe("probes.py").run(lib, p.tobytes(), n, ops)
    if got["null"]:
        return None
    return [np.frombuffer(r, dtype=PARTICLE) if op[0] == "read" else r for op, r in zip(ops, got["results"])]


def compare(got, want, what):
    __tracebackhide__ = True
    for f in PARTICLE.names:
        if f in ("x", "y", "z"):  # a fused multiply-add may round once where numpy rounds twice
            assert_close(got[f], want[f], atol=1e-5, rtol=1e-6, what=f"field {f}", on=what)
        else:
            assert_equal(got[f], want[f], what=f"field {f}", on=what)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 17, 64, 1000])
def test_behaves_like_an_array_of_particles(kata, n):
    lib = load(kata)
    lib.reset_counts()
    p = particles(n, n)
    before = p.copy()
    # right after world_create the probe sets every x of the caller's array to -1e30: the world keeps
    # its own copy, so changing the caller's array changes nothing
    dts = (0.5, 0.25, -1.0)
    ops = [("read",)] + [op for dt in dts for op in (("step", dt), ("read",), ("energy",))]
    got = run(kata, lib, p, n, ops)
    assert got is not None, f"world_create(n={n}) returned NULL"
    compare(got[0], before, f"world_get right after world_create (n={n})")
    want = before
    for k, dt in enumerate(dts):
        want = step(want, dt)
        compare(got[2 + 3 * k], want, f"world_get after world_step(dt={dt}) (n={n})")
        assert_close(got[3 + 3 * k], energy(want), atol=0, rtol=1e-9, what="world_kinetic_energy", on=f"n={n}")
    lib.assert_no_leaks(after=f"world_create(n={n}) ... world_destroy")


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 300), dts=st.lists(st.floats(-2, 2, width=32), min_size=1, max_size=3), seed=st.integers(0, 99))
def test_any_size_and_steps(kata, n, dts, seed):
    lib = load(kata)
    p = particles(n, seed)
    got = run(kata, lib, p, n, [("step", dt) for dt in dts] + [("read",), ("energy",)])
    assert got is not None, f"world_create(n={n}) returned NULL"
    want = p
    for dt in dts:
        want = step(want, dt)
    compare(got[-2], want, f"n={n}, steps {dts}")
    assert_close(got[-1], energy(want), atol=0, rtol=1e-9, what="world_kinetic_energy")


def test_empty_world(kata):
    lib = load(kata)
    lib.reset_counts()
    p = particles(1)
    got = run(kata, lib, p, 0, [("step", 1.0), ("energy",)])
    assert got is not None, "world_create(n=0) returned NULL: an empty world is still a world"
    assert got[1] == 0.0, f"world_kinetic_energy of an empty world is {got[1]}, expected 0.0"
    lib.assert_no_leaks(after="world_create(n=0) ... world_destroy")


# ----------------------------------------------------------------------------- performance (count)
# A simulated 32 KiB, 8-way L1 with 64-byte lines, 20,000 particles (1.9 MB as particle_t: far bigger
# than the cache, so every line is a miss the first time). A loop over particle_t touches one line per
# particle (96-byte stride); the same loop over only the fields it needs touches 24 (step) or 16
# (energy) bytes per particle: 0.38 and 0.25 lines.
L1 = Cache(32 * 1024, 8, 64)
N = 20000
GATE = 0.55


@pytest.mark.perf
@pytest.mark.parametrize("function,hot_bytes", [("world_step", 24), ("world_kinetic_energy", 16)])
def test_cache_misses_per_particle(kata, function, hot_bytes):
    prog = kata.program("measure_world.c")
    counts = callgrind(prog, [N], function, d1=L1)
    per = counts.d1_misses / N
    kata.record(d1_misses=counts.d1_misses, misses_per_particle=round(per, 3), instructions=counts.instructions)
    assert per <= GATE, (
        f"{function} over {N:,} particles: {counts.d1_misses:,} L1 misses in a simulated {L1}, "
        f"{per:.2f} per particle (the gate is {GATE}).\n"
        f"  The loop needs {hot_bytes} bytes per particle, {hot_bytes / 64:.2f} cache lines; an array of 96-byte "
        "particle_t brings a whole line per particle into the cache and uses a quarter of it. Keep the hot "
        "fields in arrays of their own (see the hints).")
