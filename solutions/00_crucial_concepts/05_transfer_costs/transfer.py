"""Reference: transfer costs as a flow-shop pipeline."""
import statistics


def pipeline_time(stage_times):
    done = []  # done[s]: when the previous chunk left stage s
    for times in stage_times:
        if not done:
            done = [0.0] * len(times)
        t = 0.0
        for s, d in enumerate(times):
            t = max(t, done[s]) + d  # wait for this chunk's previous stage and for the stage to be free
            done[s] = t
    return done[-1] if done else 0.0


def split(nbytes, chunks):
    if chunks < 1 or nbytes < 0:
        raise ValueError("need chunks >= 1 and nbytes >= 0")
    q, r = divmod(nbytes, chunks)
    return [q + 1] * r + [q] * (chunks - r)


def pinned_copy_time(nbytes, link_bw, latency):
    return 0.0 if nbytes == 0 else latency + nbytes / link_bw


def pageable_copy_time(nbytes, link_bw, latency, host_bw, staging_bytes):
    if nbytes == 0:
        return 0.0
    pieces = [staging_bytes] * (nbytes // staging_bytes)
    if nbytes % staging_bytes:
        pieces.append(nbytes % staging_bytes)
    return pipeline_time([[b / host_bw, latency + b / link_bw] for b in pieces])


def overlapped_time(nbytes, chunks, link_bw, latency, compute_s_per_byte):
    return pipeline_time([[pinned_copy_time(b, link_bw, latency), b * compute_s_per_byte]
                          for b in split(nbytes, chunks)])


def best_chunks(nbytes, link_bw, latency, compute_s_per_byte, max_chunks):
    best, best_t = 1, None
    for c in range(1, max_chunks + 1):
        t = overlapped_time(nbytes, c, link_bw, latency, compute_s_per_byte)
        if best_t is None or t < best_t:
            best, best_t = c, t
    return best


def measure_h2d_gbps(nbytes, pinned):
    import torch

    src = torch.empty(nbytes, dtype=torch.uint8, pin_memory=pinned)
    dst = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    for _ in range(3):
        dst.copy_(src, non_blocking=pinned)
    torch.cuda.synchronize()
    times = []
    for _ in range(10):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        dst.copy_(src, non_blocking=pinned)
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e-3)
    return nbytes / statistics.median(times) / 1e9
