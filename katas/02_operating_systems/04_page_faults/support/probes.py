"""What the page-fault tests do beside the learner's library, in its process: read its fault counter
around a touch with nothing but these lines in between (no message to the test, which may fault pages
of its own), and map regions whose addresses come back as numbers. Each function returns data (counts,
addresses) for the test to judge; under `kata grade` this file runs in the learner's process
(kata.probe), the checks do not. (probe.c beside it measures one region's life from C.)"""


def fault_counts(lib):
    """minor_faults() then getrusage's ru_minflt just after it (probe_minflt), once both have run
    once (the first calls resolve symbols and may fault on code pages)."""
    lib.minor_faults(), lib.probe_minflt()
    a = lib.minor_faults()
    b = lib.probe_minflt()
    return a, b


def touch_faults(lib, nbytes):
    """region_map(nbytes, 0), then minor_faults() before and after touch_pages over it, then
    region_unmap. Returns (before, after), or None where region_map returned NULL."""
    p = lib.region_map(nbytes, 0)
    if p == lib.ffi.NULL:
        return None
    a = lib.minor_faults()
    lib.touch_pages(p, nbytes)
    b = lib.minor_faults()
    lib.region_unmap(p, nbytes)
    return a, b


def map_addresses(lib, requests):
    """region_map(n, flags) for each (n, flags): the address it returned (0 for NULL); a region that
    came back is unmapped at once with region_unmap(p, n)."""
    out = []
    for n, flags in requests:
        p = lib.region_map(n, flags)
        a = int(lib.ffi.cast("uintptr_t", p))
        if a:
            lib.region_unmap(p, n)
        out.append(a)
    return out
