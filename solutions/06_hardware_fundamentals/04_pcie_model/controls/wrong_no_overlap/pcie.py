"""Wrong control: overlapped steps still add transfer and compute."""
from fractions import Fraction

GT_PER_S = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 64.0}


def _check(gen, lanes):
    if gen not in GT_PER_S:
        raise ValueError(f"unknown PCIe generation {gen}")
    if lanes not in (1, 2, 4, 8, 16):
        raise ValueError(f"a link has 1, 2, 4, 8 or 16 lanes, not {lanes}")


def encoding_efficiency(gen):
    _check(gen, 1)
    if gen <= 2:
        return Fraction(8, 10)      # 8b/10b: 10 line bits carry 8 data bits
    if gen <= 5:
        return Fraction(128, 130)   # 128b/130b
    return Fraction(236, 256)       # gen 6 FLIT: 236 TLP bytes in every 256-byte flit


def link_bandwidth(gen, lanes):
    _check(gen, lanes)
    return GT_PER_S[gen] * 1e9 * lanes * float(encoding_efficiency(gen)) / 8


def tlp_overhead(gen):
    _check(gen, 1)
    return 24 if gen <= 5 else 16


def effective_bandwidth(gen, lanes, max_payload=256):
    if max_payload <= 0:
        raise ValueError("max_payload must be > 0")
    return link_bandwidth(gen, lanes) * max_payload / (max_payload + tlp_overhead(gen))


def transfer_time(nbytes, gen, lanes, latency=1e-6, max_payload=256):
    if nbytes < 0:
        raise ValueError("nbytes must be >= 0")
    if nbytes == 0:
        return 0.0
    return latency + nbytes / effective_bandwidth(gen, lanes, max_payload)


def step_time(compute_s, nbytes, gen, lanes, overlap, latency=1e-6):
    t = transfer_time(nbytes, gen, lanes, latency)
    return compute_s + t


def slowest_sufficient_gen(nbytes, seconds, lanes, latency=1e-6):
    for gen in sorted(GT_PER_S):
        if transfer_time(nbytes, gen, lanes, latency) <= seconds:
            return gen
    return None
