"""How a kata's points are shared among its tests, and what each test earns (see docs/grading.md).

The rule, per kata (`points` in kata.toml is the kata's total):
  1. Two pools. Performance tests (marker `perf`) share `[grading] perf_points` (default: 30% of the
     kata's points); correctness tests (all others) share the rest. A kata with only one kind of test
     puts all its points in that pool.
  2. Weights inside a pool. Each test function weighs 1, or n with `@pytest.mark.points(n)`, or what
     kata.toml's `[grading] weights = {test_name = n}` says (the metadata wins over the marker). A
     parametrized function's weight is split evenly among its cases. A test's points are its pool
     times its weight over the pool's total weight.
  3. Correctness earns per passing test; with `[grading] per_test = false` the correctness pool is
     all-or-nothing (earned only when every correctness test passes).
  4. Performance tests earn only when every correctness test of the kata passed. A perf test that
     records `kata.record(tier=k, tiers=n)` earns k/n of its points, passed or not: partial credit
     for reaching a lower tier. Otherwise it earns all or nothing.
  5. Tests this grader cannot run (skipped before they start: the GPU tier without a GPU) earn
     nothing, are listed as not run, and carry no points here: the kata's points go to the tests
     that can run, so a solved kata earns all its points on any grader. A test skipped while it
     runs (learner code can call pytest.skip) keeps its points in the maximum and earns nothing.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass

from kata.layout import Kata, KataError
from kata.results import HIDDEN_PREFIX, KataResult, TestResult

DEFAULT_PERF_SHARE = 0.3


@dataclass
class Planned:
    """A test as collected (before it runs): what the points rule needs to know about it."""
    nodeid: str               # "katas/99_demo/01_double/test_double.py::test_values[3]"
    function: str             # "test_values"
    perf: bool = False
    weight: float | None = None  # from @pytest.mark.points(n)
    skip: str | None = None      # why this grader skips it before it runs (no GPU), if it does

    @property
    def name(self) -> str:
        """The node id inside the kata folder: "test_double.py::test_values[3]"."""
        parts = self.nodeid.split("/")
        return "/".join(parts[3:]) if parts[0] == "katas" and len(parts) > 3 else self.nodeid

    @property
    def hidden(self) -> bool:
        return self.name.split("::")[0].rsplit("/", 1)[-1].startswith(HIDDEN_PREFIX)


@dataclass
class GradingConfig:
    points: float
    perf_points: float | None = None
    per_test: bool = True
    weights: dict | None = None

    @classmethod
    def of(cls, kata: Kata) -> "GradingConfig":
        where = f"katas/{kata.rel}/kata.toml"
        try:
            g = tomllib.loads((kata.dir / "kata.toml").read_text()).get("grading", {})
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise KataError(f"{where}: cannot read it: {e}") from None
        perf = g.get("perf_points")
        if perf is not None and (not isinstance(perf, (int, float)) or not 0 <= perf <= kata.points):
            raise KataError(f"{where}: [grading] perf_points should be a number from 0 to points ({kata.points:g})")
        weights = g.get("weights", {})
        if not isinstance(weights, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in weights.values()):
            raise KataError(f"{where}: [grading] weights should map test names to non-negative numbers")
        return cls(kata.points, perf, bool(g.get("per_test", True)), weights)


def allocate(cfg: GradingConfig, tests: list[Planned]) -> dict[str, float]:
    """Each test's maximum points (by node id); they add up to the kata's points, shared among the
    tests this grader can run (a test skipped before it starts gets 0)."""
    out: dict[str, float] = {t.nodeid: 0.0 for t in tests if t.skip}
    perf = [t for t in tests if t.perf and not t.skip]
    corr = [t for t in tests if not t.perf and not t.skip]
    if not perf:
        pools = {False: cfg.points, True: 0.0}
    elif not corr:
        pools = {False: 0.0, True: cfg.points}
    else:
        p = cfg.perf_points if cfg.perf_points is not None else round(cfg.points * DEFAULT_PERF_SHARE, 4)
        pools = {False: cfg.points - p, True: p}
    for is_perf, group in ((False, corr), (True, perf)):
        cases: dict[str, list[Planned]] = {}
        for t in group:
            cases.setdefault(t.function, []).append(t)
        fw = {f: _weight(cfg, f, ts) for f, ts in cases.items()}
        weights = [fw[t.function] / len(cases[t.function]) for t in group]
        cents = _apportion(round(pools[is_perf] * 100), weights)
        out.update({t.nodeid: c / 100 for t, c in zip(group, cents)})
    return out


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split `total` (hundredths of a point) in proportion to weights, in whole hundredths that add up
    exactly (largest remainder first)."""
    if not weights:
        return []
    s = sum(weights)
    raw = [total * w / s for w in weights] if s else [total / len(weights)] * len(weights)
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[:total - sum(out)]:
        out[i] += 1
    return out


def _weight(cfg: GradingConfig, function: str, cases: list[Planned]) -> float:
    if cfg.weights and function in cfg.weights:
        return float(cfg.weights[function])
    marked = [c.weight for c in cases if c.weight is not None]
    return float(marked[0]) if marked else 1.0


def score_kata(kata: Kata, cfg: GradingConfig, planned: list[Planned], rows: dict[str, dict]) -> KataResult:
    """Score one kata from its collected tests and the --kata-report rows of the run (by node id)."""
    maxima = allocate(cfg, planned)
    corr_rows = [rows.get(t.nodeid) for t in planned if not t.perf and not t.skip]
    failing = sum(1 for r in corr_rows if r is None or r["outcome"] != "passed")
    correct = failing == 0
    results = []
    for t in planned:
        row, full = rows.get(t.nodeid), maxima[t.nodeid]
        res = TestResult(kata.rel, t.name, "failed", 0.0, full, perf=t.perf, hidden=t.hidden)
        if t.skip:
            res.status = "skipped"
            res.message = (f"NOT RUN on this grader: {t.skip}. It earns nothing here; the kata's points "
                           "go to its tests that can run.")
            results.append(res)
            continue
        if row is None:
            res.message = "no result: the test did not report (the run stopped before it finished)"
            results.append(res)
            continue
        res.metrics, res.duration = dict(row.get("metrics", {})), round(row.get("duration", 0.0), 3)
        outcome, msg = row["outcome"], row.get("message", "").strip()
        if outcome == "skipped":
            res.status = "skipped"
            res.message = f"NOT RUN: skipped while running ({msg or 'no reason given'}). It earns nothing."
        elif not t.perf:
            res.status = outcome
            res.message = msg
            if outcome == "passed":
                res.points = full if (cfg.per_test or correct) else 0.0
                if not res.points:
                    res.message = "passed, but this kata's correctness points are all-or-nothing"
        else:
            credit = _credit(outcome, res.metrics)
            if not correct:
                res.status = "gated"
                why = f"{failing} correctness test(s) did not pass"
                res.message = (f"not credited: performance counts only once every correctness test passes ({why})"
                               + (f"\n{msg}" if msg else ""))
            else:
                res.status = outcome
                res.points = round(full * credit, 4)
                res.message = msg
                if 0 < credit < 1 or (outcome == "failed" and credit > 0):
                    res.message = (f"tier {res.metrics.get('tier')} of {res.metrics.get('tiers')}: "
                                   f"{credit:.0%} of this test's points" + (f"\n{msg}" if msg else ""))
        results.append(res)
    return KataResult(kata.rel, kata.title, results)


def _credit(outcome: str, metrics: dict) -> float:
    tier, tiers = metrics.get("tier"), metrics.get("tiers")
    if isinstance(tier, (int, float)) and isinstance(tiers, (int, float)) and tiers > 0:
        return min(max(tier / tiers, 0.0), 1.0)
    return 1.0 if outcome == "passed" else 0.0


def zero_kata(kata: Kata, reason: str, planned: list[Planned] | None = None,
              cfg: GradingConfig | None = None) -> KataResult:
    """Every expected test at 0 with the reason; one stand-in row when the tests are not known."""
    if planned:
        maxima = allocate(cfg or GradingConfig(kata.points), planned)
        tests = [TestResult(kata.rel, t.name, "skipped" if t.skip else "error", 0.0, maxima[t.nodeid],
                            f"NOT RUN on this grader: {t.skip}" if t.skip else reason, perf=t.perf, hidden=t.hidden)
                 for t in planned]
    else:
        tests = [TestResult(kata.rel, "(the whole kata)", "error", 0.0, kata.points, reason)]
    return KataResult(kata.rel, kata.title, tests, reason)
