"""What the AoS/SoA tests do beside the learner's library: call it on the inner part of output arrays
that have poisoned margins, so that a write past either end lands in a margin the test then checks.
The arrays the library changed come back to the test (kata.probe); the checks stay in the test."""


def convert(lib, aos, n, outs, margin):
    """aos_to_soa on `aos` (the particles' bytes as n * 8 float32) into the n elements after `margin`
    of each of the six `outs` arrays."""
    lib.aos_to_soa(lib.ffi.cast("Particle *", lib.ffi.from_buffer(aos)), n,
                   *[o[margin:margin + n] for o in outs])


def advance(lib, pos, vel, n, dt, margin):
    """soa_advance on the n elements after `margin` of each of the three `pos` arrays, with the three
    `vel` arrays (n elements each)."""
    lib.soa_advance(*[p[margin:margin + n] for p in pos], *vel, n, dt)
