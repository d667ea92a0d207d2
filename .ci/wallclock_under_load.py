"""Every CPU wall-clock test, RUNS (default 5) times for the reference and RUNS times for its naive
control, with both cores loaded by two busy loops this script starts and stops itself (issue 10).
Usage: python3 .ci/wallclock_under_load.py [kata-substring ...]   (one JSON line per test and side)"""
import json, os, signal, subprocess, sys, tempfile, time
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(os.environ.get("RUNS", 5))
TESTS = [
    ("06_hardware_fundamentals/01_latency_ladder", "test_latency_ladder.py::test_ladder"),
    ("06_hardware_fundamentals/02_false_sharing", "test_false_sharing.py::test_padding_beats_packing"),
    ("06_hardware_fundamentals/03_cache_line_stride", "test_cache_line_stride.py::test_real_sweep"),
    ("06_hardware_fundamentals/05_bandwidth_by_working_set", "test_bandwidth_by_working_set.py::test_bandwidth_ladder"),
    ("00_crucial_concepts/03_stream_bandwidth", "test_stream_bandwidth.py::test_bandwidth_vs_memcpy"),
    ("01_computer_architecture/06_branchless_ilp", "test_branchless_ilp.py::test_sum_speedup"),
]
sel = sys.argv[1:]
busy = [subprocess.Popen(["timeout", "3000", "sh", "-c", "while :; do :; done"]) for _ in range(2)]
try:
    for kata, test in TESTS:
        if sel and not any(s in kata for s in sel):
            continue
        for impl, args in [("reference", ["--solutions"]), ("naive", ["--impl", f"solutions/{kata}/controls/naive"])]:
            rows = []
            for i in range(N):
                rep = tempfile.mktemp(suffix=".json")
                cmd = [sys.executable, "-m", "pytest", f"katas/{kata}/{test}", *args, "-q", "-p", "no:xdist",
                       "-p", "no:cacheprovider", f"--kata-report={rep}"]
                t = time.time()
                subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
                for r in json.load(open(rep)):
                    m = {k: v for k, v in r["metrics"].items() if k != "machine"}
                    msg = r["message"].split("\n")[0][:140] if r["outcome"] == "skipped" else ""
                    rows.append((r["nodeid"].split("::")[-1], r["outcome"], m, msg))
                os.unlink(rep)
                print(f"# {kata} {impl} run {i+1}: {time.time()-t:.0f}s  load {os.getloadavg()[0]:.1f}", flush=True)
            for node in sorted({r[0] for r in rows}):
                rs = [r for r in rows if r[0] == node]
                outs = {o: sum(1 for r in rs if r[1] == o) for o in ("passed", "failed", "skipped")}
                print(json.dumps({"kata": kata, "test": node, "impl": impl, "outcomes": outs,
                                  "figures": [r[2] for r in rs], "skips": [r[3] for r in rs if r[3]]}), flush=True)
finally:
    for p in busy:
        p.terminate()
    for p in busy:
        p.wait()
