"""Under `kata grade`, bytes moved, the torch-compute guard and the guarded allocations' margins come from a
replay of the call's tape (kata.replay), not from the learner's process: forging the counters there,
hiding torch arithmetic from the guard, painting the poison back over an out-of-bounds write, or handing
back an answer made outside the kernels, each scores 0 on the test it attacks.

The control, graded with `--judge same` (learner code beside the test), shows that each forgery is real:
there it earns the points.
"""
from __future__ import annotations

import pytest
from conftest import README
from test_attacks import _by_kata, _grade

KATA_TOML = """
title = "Triton double ({name})"
difficulty = 1
language = "triton"
files = ["double.py"]
points = 8
timeout = 60
[admission]
imports = ["gc"]
calls = ["get_objects"]
"""

TESTS = '''
import pytest
import torch

from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations


@pytest.mark.interpret
def test_values(kata):
    x = torch.arange(1000, dtype=torch.float32)
    out = kata.module().double(x)
    assert torch.equal(out, 2 * x)


@pytest.mark.interpret
def test_bytes_moved(kata):
    n = 6000
    x = torch.linspace(-1, 1, n, dtype=torch.float32)
    mod = kata.module()
    with count_bytes() as moved:
        out = mod.double(x)
    assert torch.equal(out, 2 * x), "wrong values"
    assert moved.total <= 2 * n * 4, f"moved {moved}; one read and one write of n floats is {2 * n * 4:,}"


@pytest.mark.interpret
def test_no_torch_compute(kata):
    x = torch.arange(3000, dtype=torch.float32)
    mod = kata.module()
    with forbid_torch_compute() as guard:
        out = mod.double(x)
    assert torch.equal(out, 2 * x), "wrong values"
    assert guard.launches >= 1, "no kernel launched"


@pytest.mark.interpret
def test_no_write_out_of_bounds(kata):
    x = torch.arange(3000, dtype=torch.float32)
    mod = kata.module()
    with guard_allocations():
        out = mod.double(x)
    assert torch.equal(out, 2 * x), "wrong values"
'''

KERNEL = '''
import torch
import triton
import triton.language as tl

BLOCK: tl.constexpr = 1024


@triton.jit
def scale_kernel(x_ptr, out_ptr, n, factor, B: tl.constexpr):
    offs = tl.program_id(0) * B + tl.arange(0, B)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * factor, mask=mask)


@triton.jit
def unmasked_store_kernel(x_ptr, out_ptr, n, factor, B: tl.constexpr):
    offs = tl.program_id(0) * B + tl.arange(0, B)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=offs < n, other=0.0) * factor)  # the store: no mask
'''

STUB = '''
def double(x):
    raise NotImplementedError("double.py: double()")
'''

HONEST = KERNEL + '''

def double(x):
    out = torch.empty_like(x)
    scale_kernel[(triton.cdiv(x.numel(), 1024),)](x, out, x.numel(), 2.0, B=BLOCK)
    return out
'''

ATTACKS = {
    # two passes (4n floats moved), then the counters lowered in the learner's process, where the tamper
    # check does not look: the values of a BytesMoved, not the instruments themselves
    "forge_counts": KERNEL + '''
import gc


def double(x):
    tmp, out = torch.empty_like(x), torch.empty_like(x)
    grid = (triton.cdiv(x.numel(), 1024),)
    scale_kernel[grid](x, tmp, x.numel(), 1.0, B=BLOCK)
    scale_kernel[grid](tmp, out, x.numel(), 2.0, B=BLOCK)
    for o in gc.get_objects():
        if type(o).__name__ == "BytesMoved":
            o.loaded, o.stored = x.numel() * 4, x.numel() * 4
    return out
''',
    # the answer made with numpy and only copied by a kernel (the copy alone is within the gate)
    "launder_through_numpy": KERNEL + '''
import numpy as np


def double(x):
    answer = torch.from_numpy(np.asarray(x) * 2)
    out = torch.empty_like(x)
    scale_kernel[(triton.cdiv(x.numel(), 1024),)](answer, out, x.numel(), 1.0, B=BLOCK)
    return out
''',
    # torch arithmetic out of the dispatch modes' sight (and a kernel launched for show)
    "hide_torch_compute": KERNEL + '''
from torch.utils._python_dispatch import _disable_current_modes


def double(x):
    scratch = torch.empty_like(x)
    scale_kernel[(triton.cdiv(x.numel(), 1024),)](x, scratch, x.numel(), 0.0, B=BLOCK)
    with _disable_current_modes():
        return x * 2
''',
    # no mask on the store: the last block writes past the end, then the poison is painted back over it
    "repaint_the_margin": KERNEL + '''


def double(x):
    out = torch.empty_like(x)
    unmasked_store_kernel[(triton.cdiv(x.numel(), 1024),)](x, out, x.numel(), 2.0, B=BLOCK)
    whole = torch.empty(0, dtype=torch.uint8).set_(out.untyped_storage())
    start = (out.storage_offset() + out.numel()) * 4
    if whole.numel() > start:  # a guarded allocation: out sits inside a poisoned buffer
        whole[start:start + 4096].fill_(0xA5)
    return out
''',
    # the kernel's output overwritten from numpy after the launch
    "overwrite_after_the_kernel": KERNEL + '''
import numpy as np


def double(x):
    out = torch.empty_like(x)
    scale_kernel[(triton.cdiv(x.numel(), 1024),)](x, out, x.numel(), 0.0, B=BLOCK)
    out.numpy()[:] = np.asarray(x) * 2
    return out
''',
}


# A torch kata whose test bans an op through kata.toolkit.OpCensus: the census is replayed too.
TORCH_TOML = KATA_TOML.replace('language = "triton"', 'language = "python"')

TORCH_TESTS = '''
import torch

from kata.toolkit import OpCensus


def test_values(kata):
    x = torch.linspace(-3, 3, 40).reshape(4, 10)
    assert torch.allclose(kata.module().softmax(x), torch.softmax(x, dim=1))


def test_no_softmax_op(kata):
    x = torch.linspace(-3, 3, 40).reshape(4, 10)
    mod = kata.module()
    with OpCensus() as census:
        out = mod.softmax(x)
    assert torch.allclose(out, torch.softmax(x, dim=1)), "wrong values"
    used = {"_softmax", "softmax"} & set(census.ops)
    assert not used, f"softmax() calls aten.{used}: write it with max, exp, sum and a division"
'''

TORCH_HONEST = '''
import torch


def softmax(x):
    e = (x - x.amax(dim=1, keepdim=True)).exp()
    return e / e.sum(dim=1, keepdim=True)
'''

TORCH_ATTACKS = {
    # torch.softmax out of the census's sight
    "hide_from_the_census": '''
import torch
from torch.utils._python_dispatch import _disable_current_modes


def softmax(x):
    with _disable_current_modes():
        return torch.softmax(x, dim=1)
''',
}

ATTACKED = {"forge_counts": "test_bytes_moved", "launder_through_numpy": "test_bytes_moved",
            "hide_torch_compute": "test_no_torch_compute", "repaint_the_margin": "test_no_write_out_of_bounds",
            "overwrite_after_the_kernel": "test_bytes_moved", "hide_from_the_census": "test_no_softmax_op"}


def _project(co):
    triton_katas = [(name, HONEST if name == "honest" else ATTACKS[name]) for name in ["honest", *ATTACKS]]
    torch_katas = [(name, TORCH_HONEST if name == "torch_honest" else TORCH_ATTACKS[name])
                   for name in ["torch_honest", *TORCH_ATTACKS]]
    for i, (name, text) in enumerate(triton_katas + torch_katas):
        rel = f"98_replay/{i:02d}_{name}"
        triton = i < len(triton_katas)
        co.write(f"katas/{rel}/README.md", README)
        co.write(f"katas/{rel}/kata.toml", (KATA_TOML if triton else TORCH_TOML).format(name=name))
        co.write(f"katas/{rel}/double.py", STUB if triton else STUB.replace("double", "softmax").replace("softmax.py", "double.py"))
        co.write(f"katas/{rel}/test_{name}.py", TESTS if triton else TORCH_TESTS)
        co.write(f"solutions/{rel}/double.py", HONEST if triton else TORCH_HONEST)
        sub = co.submit(rel, "double.py", text)
    return sub


@pytest.mark.time_limit(900)
def test_forged_or_hidden_measurements_score_zero_under_the_separate_judge(checkout, tmp_path):
    sub = _project(checkout)
    data = _grade(checkout, tmp_path, sub)
    scores = _by_kata(data)

    def said(name):
        return "\n".join(t.get("output", "") for t in data["tests"] if t["name"].split(" :: ")[0].endswith(f"_{name}"))
    assert scores["honest"][0] == 8, f"the honest kata lost points:\n{said('honest')}"
    assert scores["torch_honest"][0] == 8, f"the honest torch kata lost points:\n{said('torch_honest')}"
    for name in [*ATTACKS, *TORCH_ATTACKS]:
        assert scores[name][0] < 8, f"{name} earned full points:\n{said(name)}"
        failed = [t["name"].split("::")[-1].strip() for t in data["tests"]
                  if t["name"].split(" :: ")[0].endswith(f"_{name}") and t.get("score", 0) == 0]
        assert ATTACKED[name] in failed, f"{name}: {ATTACKED[name]} did not fail:\n{said(name)}"
    assert "REPLAY" in said("forge_counts") and "REPLAY" in said("launder_through_numpy")
    assert "OUT-OF-BOUNDS WRITE" in said("repaint_the_margin")
    # the control: beside the test, each forgery passes the test it attacks (the numpy answer passes
    # there too: the learner's process is the only witness of where an answer came from)
    data = _grade(checkout, tmp_path, sub, "--judge", "same")
    for name in ("forge_counts", "launder_through_numpy", "hide_torch_compute", "repaint_the_margin",
                 "hide_from_the_census"):
        passed = [t["name"].split("::")[-1].strip() for t in data["tests"]
                  if t["name"].split(" :: ")[0].endswith(f"_{name}") and t.get("score", 0) > 0]
        assert ATTACKED[name] in passed, f"{name} did not work even beside the test: {passed}"


def test_peak_memory_is_read_from_the_tape():
    """gpu_peak_memory under a separate judge: the bytes of the tensors a call made, each from the event
    that first names it to its free (recorded when it dies), so a temporary freed before the next one is
    counted once; a forged tape that uses a tensor after its free is refused."""
    import torch

    import kata.tritonkit as tk
    from kata.replay import ReplayError, Tape, _peak

    x = torch.ones(1000)
    tape = Tape({"a": (x,), "k": {}})
    with tk.taping(tape):
        t = x * 2  # 4,000 bytes, freed before the next op
        del t
        u = x + 1
        v = u * 3  # u and v: 8,000 bytes at once
        del u
        w = v - 1  # v and w
    taped = tape.finish(w)
    assert sum(1 for ev in taped["events"] if ev[0] == "free") == 2
    assert _peak(taped) == 8000
    made_first = taped["events"][0][4]  # what the first op made (t), freed before the second
    forged = dict(taped, events=taped["events"] + [["op", "aten.neg.default", [made_first], {}, None, ""]])
    with pytest.raises(ReplayError, match="after the call freed it"):
        _peak(forged)
