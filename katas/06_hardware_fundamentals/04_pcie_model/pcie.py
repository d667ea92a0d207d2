"""A model of a PCIe link: raw rate, line encoding, packet overhead, latency. See README.md.
Units: bytes, bytes/s, seconds. Generations 1-6; lanes 1, 2, 4, 8 or 16 (else ValueError)."""

GT_PER_S = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 64.0}  # giga-transfers per second per lane


def encoding_efficiency(gen):
    """Data bits per line bit: a fractions.Fraction (8/10, 128/130 or 236/256)."""
    raise NotImplementedError("pcie.py: encoding_efficiency()")


def link_bandwidth(gen, lanes):
    """Bytes/s in one direction after line encoding (one transfer = one bit per lane)."""
    raise NotImplementedError("pcie.py: link_bandwidth()")


def tlp_overhead(gen):
    """Bytes each transaction-layer packet adds to its payload: 24 for gen 1-5, 16 for gen 6."""
    raise NotImplementedError("pcie.py: tlp_overhead()")


def effective_bandwidth(gen, lanes, max_payload=256):
    """Payload bytes/s when data moves in packets of max_payload bytes, each with tlp_overhead(gen) more."""
    raise NotImplementedError("pcie.py: effective_bandwidth()")


def transfer_time(nbytes, gen, lanes, latency=1e-6, max_payload=256):
    """latency + nbytes / effective_bandwidth; 0.0 for 0 bytes; ValueError for negative nbytes."""
    raise NotImplementedError("pcie.py: transfer_time()")


def step_time(compute_s, nbytes, gen, lanes, overlap, latency=1e-6):
    """One training/inference step that computes for compute_s and moves nbytes over the link: the two
    back to back, or overlapped (the longer one hides the shorter)."""
    raise NotImplementedError("pcie.py: step_time()")


def slowest_sufficient_gen(nbytes, seconds, lanes, latency=1e-6):
    """The oldest generation whose transfer_time for nbytes fits in `seconds`, or None."""
    raise NotImplementedError("pcie.py: slowest_sufficient_gen()")
