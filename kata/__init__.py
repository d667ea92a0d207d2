"""The kata harness: layout and metadata, the pytest plugin, isolation, measurement and the CLI.

Modules, each with one job:
  layout     where katas live, their metadata (kata.toml) and how a name resolves to a kata
  plugin     the pytest plugin: --solutions, the `kata` fixture, isolation, reports
  isolation  runs one test in a forked child; crashes and time-outs become clear failures
  testing    assertions that say what was expected, what came back and on which input
  tritonkit  Triton helpers: interpreter set-up, bytes moved, a guard against torch compute ops
  timing     wall-clock ratios, interleaved, median, retry (CPU); do_bench helpers (GPU)
  check      the honesty check behind `kata check`
  cli        the `kata` command
"""
__version__ = "0.1.0"
