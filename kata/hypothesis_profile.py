"""Hypothesis for graded tests: the "kata" profile, loaded when the plugin loads.

Reproducible examples (a grade must not depend on luck), no example database written into the
checkout, no "explain" phase (slow on every failure), and no health check against function-scoped
fixtures (the `kata` fixture is stateless, so reusing it across examples is safe). `kata check` needs
only pass or fail, so it also turns shrinking off (KATA_NO_SHRINK=1): a learner still gets the
smallest failing example.
"""
from __future__ import annotations

import os

try:
    from hypothesis import HealthCheck, Phase, settings

    _phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("KATA_NO_SHRINK") != "1":
        _phases.append(Phase.shrink)
    settings.register_profile("kata", derandomize=True, database=None, deadline=None,
                              report_multiple_bugs=False, phases=_phases,
                              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    settings.load_profile("kata")
except ImportError:  # pragma: no cover
    pass
