"""PCIe model: exact arithmetic against the published per-generation figures, then hypothesis against the
formulas."""
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

GENS = [1, 2, 3, 4, 5, 6]
LANES = [1, 2, 4, 8, 16]
ENC = {1: Fraction(8, 10), 2: Fraction(8, 10), 3: Fraction(128, 130), 4: Fraction(128, 130), 5: Fraction(128, 130),
       6: Fraction(236, 256)}
GT = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 64.0}


def bw(gen, lanes):
    return GT[gen] * 1e9 * lanes * float(ENC[gen]) / 8


def eff(gen, lanes, mps=256):
    return bw(gen, lanes) * mps / (mps + (24 if gen <= 5 else 16))


def close(got, want, what):
    __tracebackhide__ = True
    if not (isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-18)):
        raise AssertionError(f"{what}: got {got!r}, expected {want!r}")


def test_encoding(kata):
    p = kata.module()
    for g in GENS:
        got = p.encoding_efficiency(g)
        assert Fraction(got) == ENC[g], f"encoding_efficiency(gen {g}) = {got!r}, expected {ENC[g]}"


def test_known_links(kata):
    # The figures every spec sheet quotes, per direction.
    p = kata.module()
    for (g, lanes), gbs in {(1, 16): 4.0, (2, 16): 8.0, (3, 16): 15.754, (4, 16): 31.508, (5, 16): 63.015,
                            (4, 4): 7.877, (6, 16): 118.0}.items():
        got = p.link_bandwidth(g, lanes) / 1e9
        assert abs(got - gbs) < 0.0015, (f"link_bandwidth(gen {g}, x{lanes}) = {got:.4f} GB/s, expected about {gbs} GB/s "
                                         f"({GT[g]} GT/s x {lanes} lanes x {ENC[g]} / 8 bits per byte)")
        close(p.link_bandwidth(g, lanes), bw(g, lanes), f"link_bandwidth(gen {g}, x{lanes})")


def test_packets(kata):
    p = kata.module()
    assert [p.tlp_overhead(g) for g in GENS] == [24] * 5 + [16], "tlp_overhead: 24 bytes for gen 1-5, 16 for gen 6"
    close(p.effective_bandwidth(4, 16), eff(4, 16), "effective_bandwidth(gen 4, x16, 256-byte payloads)")
    close(p.effective_bandwidth(4, 16, 128), eff(4, 16, 128), "effective_bandwidth(gen 4, x16, 128-byte payloads)")
    close(p.effective_bandwidth(6, 8, 512), eff(6, 8, 512), "effective_bandwidth(gen 6, x8, 512-byte payloads)")
    assert p.effective_bandwidth(4, 16, 128) < p.effective_bandwidth(4, 16, 256), "smaller packets waste more of the link"


def test_transfers(kata):
    p = kata.module()
    gib = 1 << 30
    close(p.transfer_time(0, 4, 16), 0.0, "transfer_time of 0 bytes")
    close(p.transfer_time(gib, 4, 16), 1e-6 + gib / eff(4, 16), "transfer_time(1 GiB, gen 4 x16)")
    close(p.transfer_time(4096, 5, 16, latency=2e-6, max_payload=512), 2e-6 + 4096 / eff(5, 16, 512),
          "transfer_time(4 KiB, gen 5 x16, 2 us, 512-byte payloads): latency dominates small copies")
    # 7B parameters in bf16 (14 GB) over gen 4 x16: about half a second, the floor on loading a model.
    t = p.transfer_time(14e9, 4, 16)
    assert 0.45 < t < 0.5, f"14 GB over gen 4 x16 should take about 0.47 s, got {t:.3f} s"
    for bad in [(-1, 4, 16), (10, 7, 16), (10, 4, 3), (10, 0, 16)]:
        with pytest.raises(ValueError):
            p.transfer_time(*bad)


def test_steps_and_choice(kata):
    p = kata.module()
    n = 256 << 20
    t = 1e-6 + n / eff(4, 16)
    close(p.step_time(0.02, n, 4, 16, overlap=False), 0.02 + t, "step_time without overlap (compute, then copy)")
    close(p.step_time(0.02, n, 4, 16, overlap=True), max(0.02, t), "step_time with overlap (the longer one hides the other)")
    close(p.step_time(0.001, n, 4, 16, overlap=True), t, "step_time with overlap, copy-bound")
    assert p.slowest_sufficient_gen(n, 0.005, 16) == 5, "256 MiB in 5 ms on x16 needs gen 5 (gen 4 takes 9.3 ms)"
    assert p.slowest_sufficient_gen(n, 1.0, 16) == 1, "256 MiB in 1 s on x16: gen 1 suffices"
    assert p.slowest_sufficient_gen(n, 1e-4, 16) is None, "256 MiB in 0.1 ms: no generation"


@settings(max_examples=200)
@given(gen=st.sampled_from(GENS), lanes=st.sampled_from(LANES), n=st.integers(0, 1 << 40),
       mps=st.sampled_from([128, 256, 512, 4096]), lat=st.floats(0, 1e-4), compute=st.floats(0, 1), ov=st.booleans())
def test_against_the_formulas(kata, gen, lanes, n, mps, lat, compute, ov):
    p = kata.module()
    want = 0.0 if n == 0 else lat + n / eff(gen, lanes, mps)
    close(p.transfer_time(n, gen, lanes, latency=lat, max_payload=mps), want,
          f"transfer_time({n}, gen {gen}, x{lanes}, latency {lat:g}, payload {mps})")
    t = 0.0 if n == 0 else lat + n / eff(gen, lanes)
    close(p.step_time(compute, n, gen, lanes, ov, latency=lat), max(compute, t) if ov else compute + t,
          f"step_time({compute:g}, {n}, gen {gen}, x{lanes}, overlap={ov})")
