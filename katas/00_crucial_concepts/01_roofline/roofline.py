"""The roofline model: arithmetic intensity, attainable FLOP/s and the binding limit. See README.md.

Units throughout: FLOPs, bytes, FLOP/s and bytes/s (plain SI numbers, no "giga")."""


def arithmetic_intensity(flops, bytes_moved):
    """FLOPs per byte moved. bytes_moved == 0 -> math.inf. Negative inputs -> ValueError."""
    raise NotImplementedError("roofline.py: arithmetic_intensity()")


def ridge_point(peak_flops, peak_bandwidth):
    """The intensity (FLOP/byte) at which the memory roof meets the compute roof."""
    raise NotImplementedError("roofline.py: ridge_point()")


def attainable_flops(intensity, peak_flops, peak_bandwidth):
    """The roofline: the FLOP/s a kernel of this intensity can reach at best."""
    raise NotImplementedError("roofline.py: attainable_flops()")


def roofline_time(flops, bytes_moved, peak_flops, peak_bandwidth):
    """(seconds, bound): the lower bound on run time, and "compute" or "memory" for the limit that
    sets it ("compute" on a tie)."""
    raise NotImplementedError("roofline.py: roofline_time()")


def matmul_traffic(m, n, k, dtype_bytes):
    """(flops, bytes) for C[m,n] = A[m,k] @ B[k,n] when A and B are read once and C written once."""
    raise NotImplementedError("roofline.py: matmul_traffic()")


def elementwise_traffic(n, n_inputs, n_outputs, dtype_bytes, flops_per_element):
    """(flops, bytes) for an elementwise op over n elements reading n_inputs tensors and writing n_outputs."""
    raise NotImplementedError("roofline.py: elementwise_traffic()")
