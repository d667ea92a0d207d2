"""Tests of kata.tritonkit: bytes counted in the interpreter, torch compute caught, allocations guarded.

Run: python -m pytest tests/test_tritonkit.py -p no:cacheprovider
Kernels are defined inside _kernels(), called in each test's own process after TRITON_INTERPRET=1 is set
(the `interpret` marker), so that on a GPU machine too they run in the interpreter.
"""
import functools
import types

import pytest
import torch
import torch.nn.functional as F

from kata import tritonkit
from kata.tritonkit import TritonKitError, count_bytes, forbid_torch_compute, guard_allocations

pytestmark = pytest.mark.interpret


@functools.lru_cache(maxsize=None)
def _kernels():
    import triton
    import triton.language as tl

    @triton.jit
    def copy(src, dst, n, BLOCK: tl.constexpr, MASKED: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        if MASKED:
            tl.store(dst + offs, tl.load(src + offs, mask=offs < n, other=0), mask=offs < n)
        else:
            tl.store(dst + offs, tl.load(src + offs))

    @triton.jit
    def even_only(src, dst, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        keep = (offs < n) & (offs % 2 == 0)
        tl.store(dst + offs, tl.load(src + offs, mask=keep), mask=keep)

    @triton.jit
    def descriptor_copy(src, dst, n, BLOCK: tl.constexpr):
        a = tl.make_tensor_descriptor(src, [n], [1], [BLOCK])
        b = tl.make_tensor_descriptor(dst, [n], [1], [BLOCK])
        b.store([tl.program_id(0) * BLOCK], a.load([tl.program_id(0) * BLOCK]))

    @triton.jit
    def atomic_sum(src, total, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.atomic_add(total + offs * 0, tl.load(src + offs, mask=offs < n), mask=offs < n)

    @triton.jit
    def store_at(dst, shift, n, BLOCK: tl.constexpr):
        offs = tl.arange(0, BLOCK)
        tl.store(dst + offs + shift, tl.full([BLOCK], 1.0, tl.float32), mask=offs < n)

    return types.SimpleNamespace(copy=copy, even_only=even_only, descriptor_copy=descriptor_copy,
                                 atomic_sum=atomic_sum, store_at=store_at, cdiv=triton.cdiv)


def launch_copy(x, block=256, masked=True):
    k = _kernels()
    out = torch.empty_like(x)
    k.copy[(k.cdiv(x.numel(), block),)](x, out, x.numel(), BLOCK=block, MASKED=masked)
    return out


# -------------------------------------------------------------------------------------- count_bytes


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int8, torch.int64, torch.bfloat16])
def test_masked_copy_counts_mask_true_elements_times_size(dtype):
    x = torch.arange(1000).to(dtype)
    with count_bytes() as moved:
        out = launch_copy(x)
    isz = x.element_size()
    assert torch.equal(out, x)
    assert (moved.loaded, moved.stored, moved.total) == (1000 * isz, 1000 * isz, 2000 * isz), str(moved)
    assert (moved.launches, moved.programs, moved.atomic, moved.torch_bytes) == (1, 4, 0, 0), str(moved)


def test_widest_load_and_store_starts():
    # launch_copy's default block is 256: 4 programs over 1000 elements, stored block by block in pid order
    x = torch.arange(1000, dtype=torch.float32)
    with count_bytes() as moved:
        out = launch_copy(x)
    assert moved.widest_load == 256, str(moved)
    assert moved.store_starts == [out.data_ptr() + 4 * 256 * i for i in range(4)]
    k = _kernels()
    dst = torch.zeros(1000)
    with count_bytes() as moved:  # mask-false lanes are not a store's start: the first even offset is
        k.even_only[(1,)](torch.randn(1000), dst[1:], 999, BLOCK=256)
    assert moved.store_starts == [dst[1:].data_ptr()]


def test_unmasked_and_partial_masks():
    x = torch.randn(512)
    with count_bytes() as moved:
        launch_copy(x, masked=False)
    assert (moved.loaded, moved.stored) == (512 * 4, 512 * 4)
    k = _kernels()
    with count_bytes() as moved:
        k.even_only[(4,)](torch.randn(1000), torch.empty(1000), 1000, BLOCK=256)  # 500 even offsets < 1000
    assert (moved.loaded, moved.stored) == (500 * 4, 500 * 4), str(moved)


def test_unmasked_tail_is_counted_as_loaded():
    # A kernel without a mask on a size that is not a multiple of the block: the padding lanes count.
    x = torch.randn(1000)
    with count_bytes() as moved:
        k = _kernels()
        k.copy[(4,)](x, torch.empty(1024), 1000, BLOCK=256, MASKED=False)
    assert moved.loaded == 1024 * 4


def test_tensor_descriptor_loads_and_stores():
    x = torch.randn(1000)
    out = torch.empty_like(x)
    with count_bytes() as moved:
        _kernels().descriptor_copy[(4,)](x, out, 1000, BLOCK=256)
    assert torch.equal(out, x)
    assert (moved.loaded, moved.stored) == (4000, 4000), str(moved)


def test_atomics_count_a_read_and_a_write():
    x = torch.randn(1000)
    total = torch.zeros(1)
    with count_bytes() as moved:
        _kernels().atomic_sum[(4,)](x, total, 1000, BLOCK=256)
    assert torch.allclose(total, x.sum(), atol=1e-3)
    assert moved.atomic == 2 * 1000 * 4
    assert (moved.loaded, moved.stored) == (1000 * 4 + 1000 * 4, 1000 * 4), str(moved)


def test_launches_add_up():
    x = torch.randn(300)
    with count_bytes() as moved:
        launch_copy(launch_copy(x))
    assert (moved.launches, moved.programs, moved.total) == (2, 4, 4 * 300 * 4)


def test_torch_copies_and_fills_beside_kernels_count():
    x = torch.randn(1000)
    with count_bytes() as moved:
        x.contiguous()            # already contiguous: no copy, nothing moved
        y = x.clone()             # read 4000 + write 4000
        z = torch.zeros_like(x)   # write 4000
        z.copy_(y)                # read 4000 + write 4000
        launch_copy(y)            # 8000 in the kernel
    assert moved.torch_bytes == 20_000, moved.torch_ops
    assert moved.total == 28_000
    assert "clone" in moved.torch_ops[0] and "test_tritonkit.py" in moved.torch_ops[0]


def test_counting_stops_and_patches_are_restored():
    from triton.runtime.interpreter import GridExecutor, InterpreterBuilder

    before = (InterpreterBuilder.create_masked_load, InterpreterBuilder.create_masked_store, GridExecutor.__call__)
    with count_bytes() as moved:
        launch_copy(torch.randn(10))
    launch_copy(torch.randn(10))
    assert moved.total == 80
    assert (InterpreterBuilder.create_masked_load, InterpreterBuilder.create_masked_store,
            GridExecutor.__call__) == before


def test_needs_the_interpreter(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(TritonKitError, match="needs Triton's interpreter.*TRITON_INTERPRET.*mark.interpret"):
        with count_bytes():
            pass


def test_missing_interpreter_api_is_a_clear_error(monkeypatch):
    from triton.runtime.interpreter import InterpreterBuilder

    monkeypatch.delattr(InterpreterBuilder, "create_masked_store")
    with pytest.raises(TritonKitError, match=r"InterpreterBuilder\.create_masked_store is missing.*3\.6-3\.9"):
        with count_bytes():
            pass


# ----------------------------------------------------------------------------- forbid_torch_compute


def test_a_triton_kernel_is_allowed_and_counted():
    x = torch.randn(1000)
    with forbid_torch_compute() as guard:
        out = launch_copy(x)
    assert guard.launches == 1 and guard.violations == []
    assert torch.equal(out, x)


@pytest.mark.parametrize("call,op,spelled", [
    (lambda x: torch.add(x, x), "aten.add.Tensor", "torch.add / +"),
    (lambda x: x + 1, "aten.add.Tensor", "torch.add / +"),
    (lambda x: x * x, "aten.mul.Tensor", "torch.mul / *"),
    (lambda x: x.view(10, 10) @ x.view(10, 10), "aten.mm.default", "torch.matmul / @"),
    (lambda x: F.softmax(x, dim=0), "aten._softmax.default", "F.softmax"),
    (lambda x: x.sum(), "aten.sum.default", ".sum()"),
    (lambda x: F.relu(x), "aten.relu.default", "F.relu"),
    (lambda x: torch.exp(x), "aten.exp.default", "torch.exp"),
], ids=["add", "plus", "mul", "matmul", "softmax", "sum", "relu", "exp"])
def test_torch_compute_is_flagged(call, op, spelled):
    x = torch.randn(100)
    with pytest.raises(AssertionError) as e:
        with forbid_torch_compute():
            call(x)
    msg = str(e.value)
    assert msg.startswith("this kata must be a Triton kernel: your code called torch's " + op), msg
    assert spelled in msg and "test_tritonkit.py:" in msg, msg


def test_allocation_views_and_copies_are_allowed():
    x = torch.randn(12, 10)
    with forbid_torch_compute():
        a = torch.empty_like(x)
        torch.empty(3, 4), torch.zeros(5), torch.ones_like(x), torch.full((2,), 7.0), x.new_empty(4)
        x.t().contiguous(), x.view(-1), x.reshape(10, 12), x.permute(1, 0), x.transpose(0, 1)
        x[1:3], x[:, 2], x[None].expand(2, 12, 10), x.unsqueeze(0).squeeze(0), x.flatten(), x.as_strided((2,), (1,))
        x.clone(), x.detach(), x.to(torch.float16), x.float(), a.copy_(x), a.fill_(1.0), a.zero_()
        float(x[0, 0])


def test_a_hidden_violation_is_raised_at_the_end():
    x = torch.randn(10)
    with pytest.raises(AssertionError, match=r"(?s)aten\.mul\.Tensor.*caught that error and went on; 1 torch"):
        with forbid_torch_compute():
            try:
                x * 2
            except AssertionError:
                pass


def test_launcher_patches_are_restored():
    from triton.runtime.interpreter import GridExecutor

    before, x = GridExecutor.__call__, torch.randn(10)
    with forbid_torch_compute():
        launch_copy(x)
    assert GridExecutor.__call__ is before and tritonkit._in_launch == 0
    torch.randn(3) + 1  # no mode left behind


# -------------------------------------------------------------------------------- guard_allocations


def test_empty_allocations_come_back_poisoned_and_the_rest_keep_their_values():
    x = torch.randn(6, 4)
    with guard_allocations() as g:
        e, z, f = torch.empty_like(x), torch.zeros(5), torch.full((3,), 2.0)
        i, b = torch.empty(4, dtype=torch.int32), torch.empty(4, dtype=torch.bfloat16)
        t = torch.empty_like(x.t())  # strides kept: (1, 4)
    assert torch.isnan(e).all() and torch.isnan(b.float()).all()
    assert (z == 0).all() and (f == 2).all()
    assert (i.view(torch.uint8) == tritonkit.POISON_BYTE).all()
    assert t.shape == (4, 6) and t.stride() == (1, 4) and len(g.allocations) == 6


def test_a_kernel_writing_inside_its_tensor_passes():
    with guard_allocations():
        out = launch_copy(torch.randn(1000))
    assert not torch.isnan(out).any()


@pytest.mark.parametrize("shift,where", [(1, "1 element(s) past the end (the first at index 100; the tensor holds 100)"),
                                         (-3, "3 element(s) before the start (the first at index -3)")])
def test_out_of_bounds_stores_are_reported(shift, where):
    k = _kernels()
    with pytest.raises(AssertionError) as e:
        with guard_allocations():
            out = torch.empty(100)
            k.store_at[(1,)](out, shift, 100, BLOCK=128)
    msg = str(e.value)
    assert msg.startswith("OUT-OF-BOUNDS WRITE: a kernel wrote " + where), msg
    assert "aten.empty.memory_format of shape (100,) float32 at test_tritonkit.py:" in msg, msg


def test_the_kits_own_bookkeeping_is_neither_flagged_nor_counted():
    x = torch.randn(1000)
    with forbid_torch_compute(), guard_allocations(), count_bytes() as moved:
        launch_copy(x)
    assert moved.total == 8000 and moved.torch_bytes == 0, str(moved)


def test_confined_stops_a_kernel_at_the_edge_of_its_tensors():
    """What a replay (kata.replay) lets kernels reach: a masked copy inside the spans runs, an unmasked one
    that reads and writes past the end fails before the access, naming it, and count_bytes still counts."""
    k = _kernels()
    src, dst = torch.arange(1000, dtype=torch.float32), torch.zeros(1000)
    spans = [(t.data_ptr(), t.data_ptr() + t.numel() * 4) for t in (src, dst)]
    with tritonkit.confined(spans), count_bytes() as moved:
        k.copy[(k.cdiv(1000, 256),)](src, dst, 1000, BLOCK=256, MASKED=True)
    assert torch.equal(dst, src) and moved.total == 8000
    big = torch.zeros(2048)
    with pytest.raises(Exception, match="outside every tensor it was given"):
        with tritonkit.confined(spans):
            k.copy[(k.cdiv(1000, 256),)](src, big[:1000], 1000, BLOCK=256, MASKED=False)
    assert not big[1000:].any(), "the store past the end ran"


def test_a_global_only_the_gpu_compiler_refuses_fails_the_import_on_the_cpu_too(tmp_path):
    """The interpreter lets a kernel read `LOG2E = 1.44...` or call a plain Python helper; Triton's GPU
    compiler refuses both (NameError). Importing the learner's file fails on the CPU with where and how
    to fix it; tl.constexpr globals, modules and other @triton.jit functions pass."""
    import triton  # noqa: F401 - the check runs where triton is loaded

    from kata.context import LearnerImportError, import_learner_file

    head = ("import math\nimport triton\nimport triton.language as tl\n\nSCALE = tl.constexpr(2.0)\n\n\n"
            "@triton.jit\ndef twice(x):\n    return x * SCALE\n\n\n")
    good = tmp_path / "good.py"
    good.write_text(head + "@triton.jit\ndef k(p, n, BLOCK: tl.constexpr):\n"
                    "    offs = tl.arange(0, BLOCK)\n    x = tl.load(p + offs, mask=offs < n)\n"
                    "    tl.store(p + offs, twice(x) * math.pi, mask=offs < n)\n")
    import_learner_file(good, "kata_impl_lint_good", "good.py")
    bad = tmp_path / "bad.py"
    bad.write_text(head + "LOG2E = 1.4426950408889634\n\n\ndef plain(x):\n    return x\n\n\n"
                   "@triton.jit\ndef k(p, n, BLOCK: tl.constexpr):\n    offs = tl.arange(0, BLOCK)\n"
                   "    x = tl.load(p + offs, mask=offs < n)\n    tl.store(p + offs, plain(x) * LOG2E, mask=offs < n)\n"
                   "\n\n@triton.autotune(configs=[triton.Config({})], key=[])\n@triton.jit\ndef tuned(p, n):\n"
                   "    tl.store(p, n * LOG2E)\n")
    with pytest.raises(LearnerImportError) as e:
        import_learner_file(bad, "kata_impl_lint_bad", "bad.py")
    msg = str(e.value)
    assert msg.startswith("YOUR KERNEL WOULD NOT COMPILE ON A GPU")
    assert "bad.py:24: @triton.jit k() reads the global `LOG2E` (a float)" in msg
    assert "`LOG2E = tl.constexpr(1.4426950408889634)`" in msg
    assert "reads the global `plain` (a plain Python function, not @triton.jit)" in msg
    assert "bad.py:30: @triton.jit tuned() reads the global `LOG2E`" in msg  # under @triton.autotune too
