"""`kata list` (what katas there are) and `kata ci` (everything CI runs, in one command)."""
from __future__ import annotations

import subprocess
import sys
import time

from kata.layout import find_root, resolve


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list katas: module, title, language, tiers, points")
    p.add_argument("katas", nargs="*", help="modules or katas to list (default all)")
    p.set_defaults(func=run_list)

    p = sub.add_parser("ci", help="the harness's own tests, then `kata check` over every kata (what .ci/run runs)")
    p.add_argument("-n", "--workers", type=int, default=2, help="pytest-xdist workers (default 2)")
    p.set_defaults(func=run_ci)


def run_list(args) -> int:
    root = find_root()
    module = None
    for k in resolve(root, args.katas):
        if k.module != module:
            module = k.module
            print(module)
        stars = "*" * k.difficulty
        print(f"  {k.name:<28} {k.title:<36} {k.language:<7} {'+'.join(k.tiers):<8} {k.points:>4g} pts  {stars}")
    return 0


def run_ci(args) -> int:
    from kata.check import check, print_verdicts

    root = find_root()
    t0 = time.monotonic()
    print("== 1/2  the harness's own tests: pytest tests", flush=True)
    cmd = [sys.executable, "-m", "pytest", "tests", "-p", "no:cacheprovider", "-q"]
    if args.workers > 1:
        cmd += ["-n", str(args.workers)]
    proc = subprocess.run(cmd, cwd=root)
    harness_ok = proc.returncode == 0
    print(f"\n== 2/2  kata check over every kata (stubs fail, `pytest --solutions` passes, controls behave)",
          flush=True)
    verdicts = check(root, resolve(root, []), workers=args.workers)
    print_verdicts(verdicts)
    n_ok = sum(v.ok for v in verdicts)
    print(f"\nci took {time.monotonic() - t0:.0f} s; harness tests {'passed' if harness_ok else 'FAILED'}")
    # The plain closing line CI readers look for: katas that keep the contract vs not.
    print(f"kata-check: {n_ok} passed, {len(verdicts) - n_ok} failed")
    return 0 if harness_ok and n_ok == len(verdicts) else 1
