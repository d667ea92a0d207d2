"""A small benchmark harness: warm-up, repeats, median, spread and outliers. See README.md."""
from dataclasses import dataclass


@dataclass
class Stats:
    samples: list      # seconds per timed call, in the order they ran (warm-up excluded)
    median: float
    mean: float
    stdev: float       # sample standard deviation (n - 1); 0.0 for a single sample
    minimum: float
    q1: float          # 25th percentile, linear interpolation (numpy's default)
    q3: float          # 75th percentile
    iqr: float         # q3 - q1
    outliers: list     # indices into samples outside [q1 - k*iqr, q3 + k*iqr], ascending
    clean_mean: float  # mean of the samples that are not outliers


def percentile(sorted_values, p):
    """The p-th percentile (0 <= p <= 100) of already sorted values, interpolating linearly between
    the two nearest ranks: position (n - 1) * p / 100."""
    raise NotImplementedError("bench.py: percentile()")


def summarize(samples, k=1.5):
    """Stats for a list of samples (at least one)."""
    raise NotImplementedError("bench.py: summarize()")


def benchmark(fn, *, clock, warmup=2, repeats=10, k=1.5):
    """Call fn() `warmup` times untimed, then `repeats` times, each timed alone by reading clock()
    just before and just after the call. Returns summarize(samples, k). ValueError if repeats < 1 or
    warmup < 0."""
    raise NotImplementedError("bench.py: benchmark()")
