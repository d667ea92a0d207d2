"""Bytes moved under `kata grade` come from a replay of the call's tape (kata.replay), not from the learner's
process: forging the counters there, or handing back an answer made outside the kernels, scores 0.

The control, graded with `--judge same` (learner code beside the test), shows that the forgery is real: there
it earns the points.
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
points = 4
timeout = 60
[admission]
imports = ["gc"]
calls = ["get_objects"]
"""

TESTS = '''
import pytest
import torch

from kata.tritonkit import count_bytes


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


def _project(co):
    names = ["honest", *ATTACKS]
    for i, name in enumerate(names):
        rel = f"98_replay/{i:02d}_{name}"
        co.write(f"katas/{rel}/README.md", README)
        co.write(f"katas/{rel}/kata.toml", KATA_TOML.format(name=name))
        co.write(f"katas/{rel}/double.py", STUB)
        co.write(f"katas/{rel}/test_{name}.py", TESTS)
        co.write(f"solutions/{rel}/double.py", HONEST)
        dest = co.path.parent / "submission" / "katas" / rel / "double.py"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(HONEST if name == "honest" else ATTACKS[name])
    return co.path.parent / "submission"


@pytest.mark.time_limit(900)
def test_forged_or_laundered_bytes_score_zero_under_the_separate_judge(checkout, tmp_path):
    sub = _project(checkout)
    data = _grade(checkout, tmp_path, sub)
    scores = _by_kata(data)

    def said(name):
        return "\n".join(t.get("output", "") for t in data["tests"] if t["name"].split(" :: ")[0].endswith(f"_{name}"))
    assert scores["honest"][0] == 4, f"the honest kata lost points:\n{said('honest')}"
    for name in ATTACKS:
        assert scores[name][0] == 2, f"{name}: only test_bytes_moved should fail:\n{said(name)}"
        assert "REPLAY" in said(name), said(name)
    # the control: beside the test, the forged counters pass (the numpy answers pass there too: the
    # learner's process is the only witness of where an answer came from)
    same = _by_kata(_grade(checkout, tmp_path, sub, "--judge", "same"))
    assert same["forge_counts"][0] == 4, same["forge_counts"][1]
    assert same["launder_through_numpy"][0] == 4, same["launder_through_numpy"][1]
