"""Page faults, counted (getrusage's minor faults, measured by a probe in C so that nothing else faults in
between): a fresh region costs one fault per 4 KiB page at first touch and none before; a prefaulted one
costs none at touch; touch_pages touches every page, the partial last one too, with one fault each;
regions of awkward sizes map and unmap cleanly (the address space's size checked in /proc/self/status);
and huge pages (the performance gate): a 32 MiB region in 2 MiB pages takes a handful of faults."""
from pathlib import Path

import numpy as np
import pytest

from kata.toolkit import expect

CDEF = """
void *region_map(size_t bytes, int flags);
int region_unmap(void *p, size_t bytes);
size_t touch_pages(void *p, size_t bytes);
long minor_faults(void);
long probe_minflt(void);
int probe_cycle(size_t bytes, int flags, int use_touch, long *out);
"""
PREFAULT, HUGE, PAGE, HUGE_PAGE = 1, 2, 4096, 2 << 20
SLACK = 3  # faults the probe's own code and stack may add
SIZES = [1, 4096, 4097, 40_000, (2 << 20) + 1]


def load(kata):
    return kata.library(CDEF, extra_sources=[kata.support("probe.c")])


def cycle(kata, lib, nbytes, flags, use_touch=False):
    out = np.zeros(10, np.int64)  # long[10]
    rc = lib.probe_cycle(nbytes, flags, int(use_touch), out)
    what = f"region_map({nbytes}, {['0', 'REGION_PREFAULT', 'REGION_HUGE', 'REGION_PREFAULT | REGION_HUGE'][flags]})"
    expect(rc == 0, f"{what} returned NULL")
    o = [int(x) for x in out]
    pages = -(-nbytes // PAGE)
    expect(o[0] % PAGE == 0, f"{what} returned {o[0]:#x}, not page-aligned")
    expect(o[5] == pages, f"{what}: after a store into every page, {o[5]} of its {pages} pages are resident"
           + (" (your touch_pages missed some: the last, partial page too)" if use_touch else ""))
    expect(o[7] == 0, f"region_unmap after {what} returned {o[7]}, expected 0")
    expect(o[9] == -1, f"after region_unmap, part of the region is still mapped: unmap round_up(bytes, page size)")
    expect(o[8] <= 0, f"{what} then region_unmap leaves {o[8]} KiB more address space mapped than before: something "
                      "mapped in region_map was never unmapped (the trimmed head or tail of an over-sized mapping?)")
    return what, pages, o


def test_minor_faults(kata):
    # The counters are read by the probe in the library's own process, back to back, as the library's
    # faults are counted there (a message to the test in between could fault pages of its own).
    lib, probe = load(kata), kata.probe("probes.py")
    a, b = probe.fault_counts(lib)  # after a first call of each (it resolves symbols, may fault code pages)
    expect(0 < a <= b <= a + 16, f"minor_faults() returned {a}, getrusage(RUSAGE_SELF) says {b} just after: return "
                                    "ru_minflt of this process (not ru_majflt, not RUSAGE_CHILDREN)")
    touched = probe.touch_faults(lib, 300 * PAGE)  # minor_faults() before and after touch_pages of a fresh region
    expect(touched is not None, "region_map(300 pages, 0) returned NULL")
    d = touched[1] - touched[0]
    expect(300 <= d <= 300 * 2 + SLACK, f"minor_faults() went up by {d} over touching 300 fresh pages, expected about 300")


@pytest.mark.parametrize("nbytes", SIZES)
def test_first_touch(kata, nbytes):
    lib = load(kata)
    what, pages, o = cycle(kata, lib, nbytes, 0)
    expect(o[3] == 0, f"{what}: {o[3]} of {pages} pages were resident before anything touched them: without "
                      "REGION_PREFAULT, map only (the point is to see the first touch fault)")
    expect(pages <= o[4] <= pages + SLACK, f"{what}: storing into each of its {pages} pages took {o[4]} faults, "
                                           f"expected {pages} (one per 4 KiB page: advise MADV_NOHUGEPAGE)")


@pytest.mark.parametrize("nbytes", SIZES)
def test_touch_pages(kata, nbytes):
    lib = load(kata)
    what, pages, o = cycle(kata, lib, nbytes, 0, use_touch=True)
    expect(o[6] == pages, f"touch_pages({nbytes} bytes) returned {o[6]}, expected {pages} pages")
    expect(o[4] <= pages + SLACK,
           f"touch_pages on a fresh {what} took {o[4]} faults for {pages} pages: a load before the store first maps "
           "the shared zero page (one fault), then the store copies it (a second). Store, do not read.")


@pytest.mark.parametrize("nbytes", SIZES)
def test_prefault(kata, nbytes):
    lib = load(kata)
    what, pages, o = cycle(kata, lib, nbytes, PREFAULT)
    kata.record(**{f"faults_in_map_{nbytes}": o[2]})
    expect(o[3] == pages, f"{what}: {o[3]} of {pages} pages resident on return: prefault them all")
    expect(o[4] <= SLACK, f"{what}: storing into its {pages} pages afterwards still took {o[4]} faults. Prefaulting by "
                          "reading maps the shared zero page, and the first store faults anyway: prefault for writing "
                          "(MAP_POPULATE, MADV_POPULATE_WRITE, or a store per page).")


@pytest.mark.parametrize("flags", [HUGE, HUGE | PREFAULT])
@pytest.mark.parametrize("nbytes", [1, (2 << 20) + 4097, 9 << 20])
def test_huge_regions_map_and_unmap_cleanly(kata, nbytes, flags):
    lib = load(kata)
    what, pages, o = cycle(kata, lib, nbytes, flags)
    if flags & PREFAULT:
        expect(o[4] <= SLACK, f"{what}: storing into its pages afterwards took {o[4]} faults: prefault for writing")


def test_bad_sizes(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    requests = [(n, flags) for flags in (0, PREFAULT, HUGE) for n in (0, 2**63, 2**64 - 1)]
    for (n, flags), a in zip(requests, probe.map_addresses(lib, requests)):  # a region that came back is unmapped
        if a != 0:
            pytest.fail(f"region_map({n}, flags={flags}) returned a region: expected NULL", pytrace=False)
    expect(lib.region_unmap(lib.ffi.NULL, 4096) == -1, "region_unmap(NULL, 4096) must return -1")


# -------------------------------------------------------------------- performance: huge pages (counted)
def _thp() -> str:
    p = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return p.read_text() if p.exists() else ""


@pytest.mark.perf
def test_huge_pages_take_few_faults(kata):
    lib = load(kata)
    n = 32 << 20
    what, pages, small = cycle(kata, lib, n, 0)  # a stub stops here
    mode = _thp()
    if "[never]" in mode or not mode:
        pytest.skip(f"transparent huge pages are off on this machine ({mode.strip() or 'no /sys entry'}): the "
                    "huge-page gate cannot run here")
    what, pages, huge = cycle(kata, lib, n, HUGE)
    kata.record(faults_4k=small[4], faults_huge=huge[4], gate=pages // 8)
    expect(huge[0] % HUGE_PAGE == 0, f"region_map(32 MiB, REGION_HUGE) returned {huge[0]:#x}, not 2 MiB-aligned: the "
                                     "kernel can only use a huge page for an aligned 2 MiB block")
    expect(huge[4] <= pages // 8,
           f"storing into a 32 MiB REGION_HUGE region took {huge[4]} faults ({small[4]} with 4 KiB pages); with 2 MiB "
           f"pages it is about 16, and the gate is {pages // 8}. Align to 2 MiB and madvise(MADV_HUGEPAGE).")
