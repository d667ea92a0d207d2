"""kata gpu-report: GPU-only judging (select) and the table it writes, without a GPU."""
from pathlib import Path

from kata.check import Verdict, judge_control
from kata.gpureport import table
from kata.layout import Kata


def _kata():
    return Kata(root=Path("."), rel="12_triton/99_x", title="x", difficulty=1, language="triton", files=["x.py"],
                points=1, tiers=["cpu", "gpu"], timeout=60)


def _row(test, outcome, perf=False, **metrics):
    return {"nodeid": f"katas/12_triton/99_x/test_x.py::{test}", "outcome": outcome, "message": "boom" * (outcome == "failed"),
            "markers": ["gpu"] + (["perf"] if perf else []), "metrics": metrics, "kata": "12_triton/99_x"}


def test_wrong_control_only_the_cpu_catches_is_a_note_under_select():
    v = Verdict(_kata())
    judge_control(v, "wrong_mask", [_row("test_bf16", "passed")], select="gpu")
    assert v.ok and v.notes and not v.proven
    v = Verdict(_kata())
    judge_control(v, "wrong_mask", [_row("test_bf16", "passed")])  # the full check: a problem
    assert not v.ok


def test_naive_without_gpu_gates_is_a_note_but_must_still_pass_correctness():
    v = Verdict(_kata())
    judge_control(v, "naive", [_row("test_bf16", "passed")], select="gpu")
    assert v.ok and v.notes
    v = Verdict(_kata())
    judge_control(v, "naive", [_row("test_bf16", "failed")], select="gpu")
    assert not v.ok


def test_naive_failing_its_gpu_gate_is_proven():
    v = Verdict(_kata())
    judge_control(v, "naive", [_row("test_bf16", "passed"), _row("test_bandwidth", "failed", perf=True)], select="gpu")
    assert v.ok and v.proven and not v.notes


def test_table_pairs_reference_and_naive_figures():
    state = {"katas": {"12_triton/99_x": {
        "proven": ["reference passes (2)"], "problems": [], "unverified": [], "notes": [],
        "rows": {"reference": [_row("test_bandwidth", "passed", perf=True, fraction_of_copy=0.93)],
                 "naive": [_row("test_bandwidth", "failed", perf=True, fraction_of_copy=0.41)]}}}}
    text = table(state)
    assert "| 12_triton/99_x | test_bandwidth | passed: fraction_of_copy 0.93 | failed (naive): fraction_of_copy 0.41 |" in text
    assert "| 12_triton/99_x | ok |" in text
