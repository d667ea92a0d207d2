"""The GPU: is there one, Triton's interpreter when there is not, and the `device` fixture.

  has_gpu()          asks without initialising CUDA in this (parent) process, which must fork
  TRITON_INTERPRET   set to 1 when this module loads on a machine without a GPU (before any learner
                     module defines a kernel); a test marked `interpret` sets it in its own child
  @pytest.mark.gpu   tests are skipped without a GPU, with a reason that says they were not passed
  device             the fixture: "cuda" on a GPU machine, else "cpu"
"""
from __future__ import annotations

import functools
import os
import shutil

import pytest

from kata.session import kata_of

GPU_SKIP_REASON = "GPU tier: no CUDA GPU here; this check is skipped, not passed (run it on a GPU machine)"


@functools.lru_cache(maxsize=None)
def has_gpu() -> bool:
    """Is there a CUDA GPU? Asked without initialising CUDA in this (parent) process, which must fork."""
    if os.environ.get("KATA_FORCE_CPU") == "1":
        return False
    if shutil.which("nvidia-smi") is None and not os.path.exists("/dev/nvidiactl"):
        return False
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


# Triton reads TRITON_INTERPRET when a kernel is defined: set it before any learner module is imported.
if not has_gpu():
    os.environ["TRITON_INTERPRET"] = "1"


def pytest_collection_modifyitems(session, config, items):
    if has_gpu():
        return
    for item in items:
        if kata_of(item) is not None and item.get_closest_marker("gpu"):
            item.add_marker(pytest.mark.skip(reason=GPU_SKIP_REASON))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("interpret"):
        os.environ["TRITON_INTERPRET"] = "1"  # in the forked child: this test's kernels run interpreted


@pytest.fixture
def device() -> str:
    """'cuda' on a GPU machine, else 'cpu' (Triton then runs in its interpreter)."""
    return "cuda" if has_gpu() and os.environ.get("TRITON_INTERPRET") != "1" else "cpu"
