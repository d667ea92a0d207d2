"""Wrong control: percentiles by nearest rank, not linear interpolation."""
import math
from dataclasses import dataclass


@dataclass
class Stats:
    samples: list
    median: float
    mean: float
    stdev: float
    minimum: float
    q1: float
    q3: float
    iqr: float
    outliers: list
    clean_mean: float


def percentile(sorted_values, p):
    if not sorted_values:
        raise ValueError("percentile of no values")
    return sorted_values[round((len(sorted_values) - 1) * p / 100)]


def summarize(samples, k=1.5):
    if not samples:
        raise ValueError("no samples")
    s = sorted(samples)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    mean = sum(samples) / n
    stdev = math.sqrt(sum((x - mean) ** 2 for x in samples) / (n - 1)) if n > 1 else 0.0
    q1, q3 = percentile(s, 25), percentile(s, 75)
    iqr = q3 - q1
    lo, hi = q1 - k * iqr, q3 + k * iqr
    outliers = [i for i, x in enumerate(samples) if x < lo or x > hi]
    kept = [x for x in samples if lo <= x <= hi]
    return Stats(list(samples), median, mean, stdev, s[0], q1, q3, iqr, outliers, sum(kept) / len(kept))


def benchmark(fn, *, clock, warmup=2, repeats=10, k=1.5):
    if repeats < 1 or warmup < 0:
        raise ValueError("need repeats >= 1 and warmup >= 0")
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return summarize(samples, k)
