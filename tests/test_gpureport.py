"""kata gpu-report: GPU-only judging (select) and the table it writes, without a GPU."""
from pathlib import Path

from kata.check import Verdict, judge_control
from kata.gpureport import gates, table
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
    state["katas"]["12_triton/99_x"]["rows"]["naive"][0]["message"] = (
        "0.41 of this GPU's copy bandwidth (3,006 GB/s); the gate is 0.85. ... 0.60x the speed of torch's x + y; the gate is 0.9x.")
    text = table(state)
    assert ("| 12_triton/99_x | test_bandwidth | >= 0.85 of copy; >= 0.9x the baseline | passed: fraction_of_copy 0.93 | "
            "failed (naive): fraction_of_copy 0.41 |") in text
    assert "| 12_triton/99_x | ok |" in text


def test_recorded_gates_come_first_and_are_not_figures():
    state = {"katas": {"12_triton/99_x": {
        "proven": [], "problems": [], "unverified": [], "notes": [],
        "rows": {"reference": [_row("test_bandwidth", "passed", perf=True, forward_fraction_of_copy=0.95,
                                    forward_gate_fraction_of_copy=0.6, forward_gate_speed_vs_eager=1.2)],
                 "naive": [_row("test_bandwidth", "passed", perf=True, forward_fraction_of_copy=0.7)]}}}}
    text = table(state)
    assert ("| test_bandwidth | forward: >= 0.6 of copy; forward: >= 1.2x eager | passed: forward_fraction_of_copy 0.95 |"
            in text), text
    state["katas"]["12_triton/99_x"]["rows"]["reference"] = [_row("test_speed", "passed", perf=True, tops=282, gate=0.2)]
    assert "| test_speed | gate: 0.2 | passed: tops 282 |" in table(state)


def test_gates_are_read_from_the_naive_controls_failure():
    assert gates("3% of this GPU's copy bandwidth (3005 GB/s; the gate is 80%), and 0.03x torch (the gate is 0.9x).") == \
        ">= 0.8 of copy; >= 0.9x the baseline"
    assert gates("0.09x, the gate is 0.35x.   Blocks of 64") == ">= 0.35x the baseline"
    assert gates("0.39 of this GPU's copy bandwidth (3,005 GB/s); the gate is 0.6. A temporary") == ">= 0.6 of copy"
    assert gates("allocated 2,004 MiB at its peak beyond the inputs; the gate is 64 MiB (eager") == \
        "a limit of 64 MiB (see the test's message)"
    assert gates("") == gates(None) == "-"


def _entry(fingerprint, problems=()):
    return {"proven": ["reference passes (1)"], "problems": list(problems), "unverified": [], "notes": [], "rows": {},
            "device": "NVIDIA H100 80GB HBM3", "fingerprint": fingerprint}


def test_table_against_the_files_now_says_which_rows_still_hold():
    state = {"katas": {"12_triton/90_a": _entry("aaa"), "12_triton/91_b": _entry("old")}}
    text = table(state, {"12_triton/90_a": "aaa", "12_triton/91_b": "new", "12_triton/92_c": "ccc"})
    assert "1 of the 3 katas with GPU tests hold a row for these files" in text
    assert "1 changed since their row was taken (they run again): 12_triton/91_b" in text
    assert "1 never ran on a GPU: 12_triton/92_c" in text
    assert "| 12_triton/90_a | ok | as run | NVIDIA H100 80GB HBM3 |" in text
    assert "| 12_triton/91_b | ok | changed since: runs again | NVIDIA H100 80GB HBM3 |" in text


def test_status_needs_no_gpu_and_says_what_is_left(tmp_path, monkeypatch, capsys):
    """`--status` on a CPU: rewrites the table against today's files and exits 3 while work is left, 0 when
    every GPU kata holds a row for its files, 1 when a row that still holds breaks the contract."""
    import argparse
    import json

    import pytest

    import kata.gpureport as gr
    from kata.layout import KataError

    katas = [Kata(root=Path("."), rel=rel, title="x", difficulty=1, language="triton", files=["x.py"], points=1,
                  tiers=["cpu", "gpu"], timeout=60) for rel in ("12_triton/90_a", "12_triton/91_b")]
    prints = {"12_triton/90_a": "aaa", "12_triton/91_b": "bbb"}
    monkeypatch.setattr(gr, "has_gpu", lambda: False)
    monkeypatch.setattr(gr, "find_root", lambda: Path("."))
    monkeypatch.setattr(gr, "gpu_katas", lambda root, names: katas)
    monkeypatch.setattr(gr, "fingerprint", lambda root, rel: prints[rel])
    monkeypatch.setattr(gr, "check", lambda *a, **k: pytest.fail("--status must run nothing"))
    args = argparse.Namespace(katas=[], out=str(tmp_path), budget=100.0, workers=1, chunk=1, parallel=1, restart=False,
                              status=True)
    with pytest.raises(KataError, match="no .*gpu_state.json"):
        gr.run(args)
    state = {"katas": {"12_triton/90_a": _entry("aaa")}, "seconds": 1.0}
    (tmp_path / "gpu_state.json").write_text(json.dumps(state))
    assert gr.run(args) == 3
    out = capsys.readouterr().out
    assert "1 of 2 katas with GPU tests hold a row" in out and "to run: 12_triton/91_b (never ran on a GPU)" in out
    assert "| 12_triton/90_a | ok | as run |" in (tmp_path / "gpu_report.md").read_text()
    state["katas"]["12_triton/91_b"] = _entry("bbb")
    (tmp_path / "gpu_state.json").write_text(json.dumps(state))
    assert gr.run(args) == 0
    prints["12_triton/91_b"] = "changed"
    assert gr.run(args) == 3 and "its files changed since its row" in capsys.readouterr().out
    state["katas"]["12_triton/90_a"] = _entry("aaa", problems=["wrong_mask: all tests passed"])
    (tmp_path / "gpu_state.json").write_text(json.dumps(state))
    assert gr.run(args) == 1
    args.status = False
    with pytest.raises(KataError, match="needs a CUDA GPU"):
        gr.run(args)


def test_rounds_stop_before_the_budget_and_resume(tmp_path, monkeypatch, capsys):
    """A round is saved only when it ends, so the next one starts only if the slowest kata so far, times the
    round's size, still fits the budget; that figure is saved too, so a resumed call predicts its first round."""
    import argparse
    import json

    import kata.gpureport as gr

    katas = [Kata(root=Path("."), rel=f"12_triton/9{i}_x", title="x", difficulty=1, language="triton",
                  files=["x.py"], points=1, tiers=["cpu", "gpu"], timeout=60) for i in range(5)]
    clock = {"now": 0.0}
    monkeypatch.setattr(gr.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(gr, "has_gpu", lambda: True)
    monkeypatch.setattr(gr, "find_root", lambda: Path("."))
    monkeypatch.setattr(gr, "gpu_katas", lambda root, names: katas)
    monkeypatch.setattr(gr, "torch_device_name", lambda: "NVIDIA H100 80GB HBM3")
    monkeypatch.setattr(gr, "fingerprint", lambda root, rel: "same files")

    def fake_check(root, chunk, workers, select, parallel):
        clock["now"] += 100.0 * len(chunk)  # every kata takes 100 s
        return [Verdict(k) for k in chunk]
    monkeypatch.setattr(gr, "check", fake_check)
    args = argparse.Namespace(katas=[], out=str(tmp_path), budget=250.0, workers=1, chunk=2, parallel=4, restart=False)
    assert gr.run(args) == 3  # 2 katas (200 s); then 2 more would end at 400 s > 250
    state = json.loads((tmp_path / "gpu_state.json").read_text())
    assert len(state["katas"]) == 2 and state["slowest_kata"] == 100.0
    args.budget = 150.0  # a fresh call: a round of 2 is predicted at 200 s, so nothing starts
    assert gr.run(args) == 3
    assert "smaller --chunk" in capsys.readouterr().out
    args.chunk = 1
    assert gr.run(args) == 3  # one kata (100 s), then another would end at 200 s > 150
    args.budget = 1000.0
    assert gr.run(args) == 0
    assert len(json.loads((tmp_path / "gpu_state.json").read_text())["katas"]) == 5


def test_a_kata_whose_files_changed_runs_again(tmp_path, monkeypatch):
    """Rows carry the fingerprint of the kata's files: a saved row of older files is not proof of these."""
    import argparse
    import json

    import kata.gpureport as gr

    root = tmp_path / "repo"
    for top in ("katas", "solutions"):
        (root / top / "12_triton/90_x").mkdir(parents=True)
        (root / top / "12_triton/90_x/x.py").write_text("v = 1\n")
    before = gr.fingerprint(root, "12_triton/90_x")
    (root / "solutions/12_triton/90_x/x.py").write_text("v = 2\n")
    assert gr.fingerprint(root, "12_triton/90_x") != before
    (root / "solutions/12_triton/90_x/x.py").write_text("v = 1\n")
    assert gr.fingerprint(root, "12_triton/90_x") == before
    # prose is not proof-bearing: a docstring, a comment or a README changes no verdict ...
    (root / "solutions/12_triton/90_x/x.py").write_text('"""The reference."""\nv = 1  # one\n')
    (root / "katas/12_triton/90_x/README.md").write_text("# x\n")
    assert gr.fingerprint(root, "12_triton/90_x") == before
    # ... but a string that is not a docstring, or a file that does not parse, is code
    (root / "solutions/12_triton/90_x/x.py").write_text('v = 1\n"""not a docstring"""\n')
    assert gr.fingerprint(root, "12_triton/90_x") != before
    (root / "solutions/12_triton/90_x/x.py").write_text("v = (1\n")
    assert gr.fingerprint(root, "12_triton/90_x") != before
    (root / "solutions/12_triton/90_x/x.py").write_text("v = 1\n")
    (root / "katas/12_triton/90_x/README.md").unlink()
    # a control kept as a patch counts by the file it makes: re-ported after the reference's docstring
    # changed, it is the same control; a patch that makes other code is another
    from kata.controls import make_patch

    controls = root / "solutions/12_triton/90_x/controls"
    controls.mkdir()
    ref = '"""Old words."""\nv = 1\nw = 2\n'
    (root / "solutions/12_triton/90_x/x.py").write_text(ref)
    (controls / "wrong_w.patch").write_text(make_patch({"x.py": ref}, {"x.py": ref.replace("w = 2", "w = 3")}))
    with_patch = gr.fingerprint(root, "12_triton/90_x")
    ref2 = ref.replace("Old words", "New words")
    (root / "solutions/12_triton/90_x/x.py").write_text(ref2)
    (controls / "wrong_w.patch").write_text(make_patch({"x.py": ref2}, {"x.py": ref2.replace("w = 2", "w = 3")}))
    assert gr.fingerprint(root, "12_triton/90_x") == with_patch
    (controls / "wrong_w.patch").write_text(make_patch({"x.py": ref2}, {"x.py": ref2.replace("w = 2", "w = 4")}))
    assert gr.fingerprint(root, "12_triton/90_x") != with_patch
    (controls / "wrong_w.patch").unlink()
    controls.rmdir()
    (root / "solutions/12_triton/90_x/x.py").write_text("v = 1\n")

    kata = Kata(root=root, rel="12_triton/90_x", title="x", difficulty=1, language="triton", files=["x.py"],
                points=1, tiers=["cpu", "gpu"], timeout=60)
    ran = []
    monkeypatch.setattr(gr, "has_gpu", lambda: True)
    monkeypatch.setattr(gr, "find_root", lambda: root)
    monkeypatch.setattr(gr, "gpu_katas", lambda r, names: [kata])
    monkeypatch.setattr(gr, "torch_device_name", lambda: "NVIDIA H200")
    monkeypatch.setattr(gr, "check", lambda r, chunk, workers, select, parallel: ran.extend(chunk) or [Verdict(k) for k in chunk])
    out = tmp_path / "out"
    args = argparse.Namespace(katas=[], out=str(out), budget=1000.0, workers=1, chunk=1, parallel=4, restart=False)
    assert gr.run(args) == 0 and len(ran) == 1
    entry = json.loads((out / "gpu_state.json").read_text())["katas"]["12_triton/90_x"]
    assert entry["device"] == "NVIDIA H200" and entry["fingerprint"] == before
    assert "| 12_triton/90_x | ok | as run | NVIDIA H200 |" in (out / "gpu_report.md").read_text()
    assert gr.run(args) == 0 and len(ran) == 1  # unchanged: nothing to run
    (root / "katas/12_triton/90_x/x.py").write_text("v = 3\n")
    assert gr.run(args) == 0 and len(ran) == 2  # the stub changed: run again
