"""Roofline: exact arithmetic on known machines and kernels, then hypothesis against the formulas."""
import math

import pytest
from hypothesis import given, settings, strategies as st

# Peaks of real parts (dense, no sparsity), in FLOP/s and bytes/s.
H100_BF16, H100_BW = 989e12, 3.35e12
CPU_FP32, CPU_BW = 2.0e12, 200e9


def close(got, want, what):
    __tracebackhide__ = True
    if not (isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0)):
        raise AssertionError(f"{what}: got {got!r}, expected {want!r}")


def test_intensity(kata):
    r = kata.module()
    close(r.arithmetic_intensity(100, 50), 2.0, "arithmetic_intensity(100 FLOPs, 50 bytes)")
    close(r.arithmetic_intensity(0, 8), 0.0, "arithmetic_intensity(0, 8)")
    got = r.arithmetic_intensity(10, 0)
    assert got == math.inf, f"arithmetic_intensity(10 FLOPs, 0 bytes): got {got!r}, expected math.inf"
    for args in [(-1, 4), (4, -1)]:
        with pytest.raises(ValueError):
            r.arithmetic_intensity(*args)


def test_ridge_and_roof(kata):
    r = kata.module()
    ridge = H100_BF16 / H100_BW
    close(r.ridge_point(H100_BF16, H100_BW), ridge, "ridge_point(H100 bf16)")
    # Below the ridge the memory roof binds, above it the compute roof; at the ridge both agree.
    close(r.attainable_flops(1.0, H100_BF16, H100_BW), H100_BW, "attainable at 1 FLOP/byte (memory roof)")
    close(r.attainable_flops(ridge / 2, H100_BF16, H100_BW), H100_BF16 / 2, "attainable at half the ridge")
    close(r.attainable_flops(ridge, H100_BF16, H100_BW), H100_BF16, "attainable at the ridge")
    close(r.attainable_flops(10 * ridge, H100_BF16, H100_BW), H100_BF16,
          "attainable at 10x the ridge (the compute roof: no kernel beats the peak)")
    close(r.attainable_flops(0.0, H100_BF16, H100_BW), 0.0, "attainable at intensity 0")


def test_traffic_counts(kata):
    r = kata.module()
    got = r.matmul_traffic(4096, 4096, 4096, 2)
    assert tuple(got) == (2 * 4096**3, 3 * 4096 * 4096 * 2), (
        f"matmul_traffic(4096, 4096, 4096, bf16): got {got}, expected (2*m*n*k FLOPs (a multiply and an add per "
        f"term), (m*k + k*n + m*n) * 2 bytes: A and B read once, C written once)")
    got = r.matmul_traffic(1, 8192, 4096, 2)  # a decode-time GEMV: one token times a weight matrix
    assert tuple(got) == (2 * 8192 * 4096, (4096 + 4096 * 8192 + 8192) * 2), f"matmul_traffic(1, 8192, 4096, 2): {got}"
    got = r.matmul_traffic(3, 5, 7, 4)
    assert tuple(got) == (210, (21 + 35 + 15) * 4), f"matmul_traffic(3, 5, 7, 4): {got}"
    got = r.elementwise_traffic(1000, 2, 1, 4, 1)  # c = a + b in fp32
    assert tuple(got) == (1000, 12000), f"elementwise_traffic(1000, 2 in, 1 out, fp32, 1 FLOP): got {got}, expected (1000, 12000)"
    got = r.elementwise_traffic(10, 1, 1, 2, 8)
    assert tuple(got) == (80, 40), f"elementwise_traffic(10, 1, 1, 2, 8): got {got}, expected (80, 40)"


@pytest.mark.parametrize("name,shape,bound", [
    ("big bf16 matmul", (4096, 4096, 4096), "compute"),
    ("decode GEMV (m=1)", (1, 8192, 8192), "memory"),
    ("batch-64 decode", (64, 8192, 8192), "memory"),
    ("batch-1024 prefill", (1024, 8192, 8192), "compute"),
])
def test_matmuls_on_h100(kata, name, shape, bound):
    r = kata.module()
    flops, nbytes = r.matmul_traffic(*shape, 2)
    t, b = r.roofline_time(flops, nbytes, H100_BF16, H100_BW)
    want_t = max(flops / H100_BF16, nbytes / H100_BW)
    close(t, want_t, f"roofline_time for a {name} {shape}")
    assert b == bound, (f"{name} {shape}: intensity {flops / nbytes:.1f} FLOP/byte against a ridge of "
                        f"{H100_BF16 / H100_BW:.0f}: the {bound} roof binds, you said {b!r}")


def test_tie_and_validation(kata):
    r = kata.module()
    t, b = r.roofline_time(200, 100, 2.0, 1.0)  # 100 s of compute, 100 s of memory
    close(t, 100.0, "roofline_time at the ridge")
    assert b == "compute", f"a tie is reported as 'compute' (the README's rule); got {b!r}"
    t, b = r.roofline_time(100, 101, 2.0, 1.0)
    assert (t, b) == (101.0, "memory"), f"roofline_time(100, 101, 2, 1): got {(t, b)}, expected (101.0, 'memory')"
    t, b = r.roofline_time(0, 0, 2.0, 1.0)
    assert (t, b) == (0.0, "compute"), f"roofline_time(0, 0, ...): got {(t, b)}, expected (0.0, 'compute')"
    for bad in [(-1, 1, 1.0, 1.0), (1, -1, 1.0, 1.0)]:
        with pytest.raises(ValueError):
            r.roofline_time(*bad)


@settings(max_examples=200)
@given(flops=st.integers(0, 10**15), nbytes=st.integers(0, 10**13),
       pf=st.floats(1e9, 1e16), bw=st.floats(1e8, 1e13))
def test_against_the_formulas(kata, flops, nbytes, pf, bw):
    r = kata.module()
    t, b = r.roofline_time(flops, nbytes, pf, bw)
    tc, tm = flops / pf, nbytes / bw
    close(t, max(tc, tm), f"roofline_time({flops}, {nbytes}, {pf:g}, {bw:g})")
    assert b == ("memory" if tm > tc else "compute"), f"roofline_time({flops}, {nbytes}, {pf:g}, {bw:g}) bound: {b!r}"
    if nbytes:
        ai = flops / nbytes
        close(r.arithmetic_intensity(flops, nbytes), ai, f"arithmetic_intensity({flops}, {nbytes})")
        close(r.attainable_flops(ai, pf, bw), min(pf, ai * bw), f"attainable_flops({ai:g}, {pf:g}, {bw:g})")
