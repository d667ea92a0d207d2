"""What the separate judge costs: N honest submissions (the references) of one module, graded with
`kata grade --judge same` and `--judge separate`, alternating so that a change in the machine's load
falls on both. Prints each run and the ratio of the totals.

    python3 .ci/grading_cost.py MODULE [N]        e.g. python3 .ci/grading_cost.py 04_c_programming 3
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kata.grade import instructor_submission  # noqa: E402
from kata.layout import resolve  # noqa: E402


def main(module: str, n: int) -> None:
    katas = resolve(ROOT, [module])
    sub = instructor_submission(ROOT, katas, "reference", Path(tempfile.mkdtemp(prefix="cost-sub-")))
    out = Path(tempfile.mkdtemp(prefix="cost-out-"))
    times = {"same": [], "separate": []}
    for i in range(n):
        for mode in (("same", "separate") if i % 2 == 0 else ("separate", "same")):
            t = time.monotonic()
            subprocess.run([sys.executable, "-m", "kata.cli", "grade", str(sub), module, "--judge", mode,
                            "--format", "json", "--out", str(out / f"{mode}.json")], cwd=ROOT, capture_output=True)
            dt = time.monotonic() - t
            points = json.loads((out / f"{mode}.json").read_text())["points"]
            times[mode].append(dt)
            print(f"{i:2d} {mode:8s} {dt:6.1f} s  {points} points", flush=True)
    for mode, ts in times.items():
        print(f"{mode}: total {sum(ts):.0f} s, mean {sum(ts) / len(ts):.1f} s")
    print(f"ratio separate/same: {sum(times['separate']) / sum(times['same']):.2f}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 30)
