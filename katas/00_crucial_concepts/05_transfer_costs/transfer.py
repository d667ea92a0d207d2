"""Host-to-device transfer costs: a pipeline model of pinned, pageable and overlapped copies.
See README.md. Units: bytes, bytes/s, seconds."""


def pipeline_time(stage_times):
    """stage_times[c][s]: how long chunk c spends in stage s (every chunk passes every stage in order;
    a stage works on one chunk at a time; chunks enter in order). Return when the last chunk leaves
    the last stage, starting at 0. No chunks -> 0.0."""
    raise NotImplementedError("transfer.py: pipeline_time()")


def split(nbytes, chunks):
    """Split nbytes into `chunks` sizes that differ by at most one, larger ones first."""
    raise NotImplementedError("transfer.py: split()")


def pinned_copy_time(nbytes, link_bw, latency):
    """One DMA from pinned memory: latency + nbytes / link_bw (0.0 for 0 bytes)."""
    raise NotImplementedError("transfer.py: pinned_copy_time()")


def pageable_copy_time(nbytes, link_bw, latency, host_bw, staging_bytes):
    """A copy from pageable memory: the driver memcpys staging_bytes-sized pieces (at host_bw) into a
    pinned staging buffer and DMAs each piece (latency + piece / link_bw), the two stages pipelined."""
    raise NotImplementedError("transfer.py: pageable_copy_time()")


def overlapped_time(nbytes, chunks, link_bw, latency, compute_s_per_byte):
    """Copy (pinned) and compute in `chunks` pieces (sizes from split()), computing piece i while
    piece i + 1 is copied. Compute on a piece of b bytes takes b * compute_s_per_byte."""
    raise NotImplementedError("transfer.py: overlapped_time()")


def best_chunks(nbytes, link_bw, latency, compute_s_per_byte, max_chunks):
    """The chunk count in 1..max_chunks with the smallest overlapped_time (the smallest count on a tie)."""
    raise NotImplementedError("transfer.py: best_chunks()")


def measure_h2d_gbps(nbytes, pinned):
    """GPU tier: copy nbytes from a host tensor (pinned or not) to the GPU with torch and return the
    bandwidth in GB/s (1e9 bytes/s): warm up, time several copies with CUDA events, take the median."""
    raise NotImplementedError("transfer.py: measure_h2d_gbps()")
