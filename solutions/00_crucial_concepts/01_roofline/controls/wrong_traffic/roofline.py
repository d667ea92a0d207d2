"""Wrong control: matmul bytes forget the write of C."""
import math


def _check(**values):
    for name, v in values.items():
        if v < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")


def arithmetic_intensity(flops, bytes_moved):
    _check(flops=flops, bytes_moved=bytes_moved)
    if bytes_moved == 0:
        return math.inf
    return flops / bytes_moved


def ridge_point(peak_flops, peak_bandwidth):
    if peak_flops <= 0 or peak_bandwidth <= 0:
        raise ValueError("peaks must be > 0")
    return peak_flops / peak_bandwidth


def attainable_flops(intensity, peak_flops, peak_bandwidth):
    _check(intensity=intensity)
    if peak_flops <= 0 or peak_bandwidth <= 0:
        raise ValueError("peaks must be > 0")
    return min(peak_flops, intensity * peak_bandwidth)


def roofline_time(flops, bytes_moved, peak_flops, peak_bandwidth):
    _check(flops=flops, bytes_moved=bytes_moved)
    if peak_flops <= 0 or peak_bandwidth <= 0:
        raise ValueError("peaks must be > 0")
    t_compute = flops / peak_flops
    t_memory = bytes_moved / peak_bandwidth
    if t_memory > t_compute:
        return t_memory, "memory"
    return t_compute, "compute"


def matmul_traffic(m, n, k, dtype_bytes):
    _check(m=m, n=n, k=k, dtype_bytes=dtype_bytes)
    return 2 * m * n * k, (m * k + k * n) * dtype_bytes


def elementwise_traffic(n, n_inputs, n_outputs, dtype_bytes, flops_per_element):
    _check(n=n, n_inputs=n_inputs, n_outputs=n_outputs, dtype_bytes=dtype_bytes, flops_per_element=flops_per_element)
    return n * flops_per_element, n * (n_inputs + n_outputs) * dtype_bytes
