"""RAII buffer: every operation's effect on memory is counted (the library's operator new/delete and
malloc/free are wrapped), so a copy must allocate, a move must not, every assignment must give the
old memory back, and destroying everything must leave nothing. Then AddressSanitizer runs the same
operations, self-assignments included."""
import numpy as np
import pytest

from kata.testing import assert_equal
from native import sanitize

CDEF = """
typedef struct Buffer Buffer;
Buffer *buf_new(size_t n);
Buffer *buf_copy(const Buffer *b);
Buffer *buf_move(Buffer *b);
void buf_assign(Buffer *dst, const Buffer *src);
void buf_move_assign(Buffer *dst, Buffer *src);
void buf_free(Buffer *b);
float *buf_data(const Buffer *b);
size_t buf_size(const Buffer *b);
size_t buf_sizeof(void);
int buf_traits(void);
"""


class B:
    """The learner's counted library and the probe that reads and writes a Buffer's floats beside it."""

    def __init__(self, kata):
        self.lib = sanitize.counted_library(kata, CDEF)
        self.probe = kata.probe("probes.py")
        self.obj = self.lib.buf_sizeof()

    def new(self, n, fill=True):
        b = self.lib.buf_new(n)
        if fill and n:
            self.write(b, np.arange(n, dtype=np.float32) * 1.5 + 1)
        return b

    def view(self, b) -> np.ndarray:
        """A copy of b's floats, read at buf_data(b)."""
        return self.probe.floats(self.lib, b)

    def write(self, b, values, start=0) -> None:
        """Write float32 values into b's floats at buf_data(b), from index `start` on."""
        self.probe.write(self.lib, b, np.asarray(values, dtype=np.float32), start)

    def ptr(self, b) -> int:
        return self.probe.address(self.lib, b)

    def delta(self, before, what, *, allocs, frees, alloc_bytes=None):
        __tracebackhide__ = True
        c = self.lib.counts()
        got = (c.allocs - before.allocs, c.frees - before.frees)
        if got != (allocs, frees):
            raise AssertionError(f"{what}: {got[0]} allocation(s) and {got[1]} free(s); expected {allocs} and {frees}")
        return c


def test_construct_and_destroy(kata):
    t = B(kata)
    t.lib.reset_counts()
    for n in (1, 5, 1000):
        c0 = t.lib.counts()
        b = t.lib.buf_new(n)
        t.delta(c0, f"buf_new({n}) (the Buffer object, then its {n} floats)", allocs=2, frees=0)
        assert t.lib.buf_size(b) == n, f"Buffer({n}).size() is {t.lib.buf_size(b)}"
        assert_equal(t.view(b), np.zeros(n, dtype=np.float32), what=f"Buffer({n})'s floats (must start at 0.0f)")
        t.lib.buf_free(b)
    b = t.lib.buf_new(0)
    assert t.lib.buf_size(b) == 0
    t.lib.buf_free(b)
    t.lib.assert_no_leaks(after="creating and deleting Buffers of 1, 5, 1000 and 0 floats")


@pytest.mark.parametrize("n", [1, 64, 1001])
def test_copy_is_deep(kata, n):
    t = B(kata)
    a = t.new(n)
    want = t.view(a).copy()
    c0 = t.lib.counts()
    b = t.lib.buf_copy(a)
    t.delta(c0, "copy-constructing a Buffer (the new object and its own floats)", allocs=2, frees=0)
    if t.ptr(a) == t.ptr(b):
        raise AssertionError("the copy shares the original's floats (same data pointer): a copy must allocate its own "
                             "memory and copy the values into it, or both Buffers delete the same block")
    assert_equal(t.view(b), want, what="the copy's floats")
    t.write(b, [-5.0])
    assert_equal(t.view(a), want, what="the original's floats after writing to the copy")
    t.lib.buf_free(b)
    assert_equal(t.view(a), want, what="the original's floats after deleting the copy")
    t.lib.buf_free(a)


@pytest.mark.parametrize("n", [0, 1, 1001])
def test_move_steals(kata, n):
    t = B(kata)
    t.lib.reset_counts()
    a = t.new(n)
    want, p = t.view(a).copy(), t.ptr(a)
    c0 = t.lib.counts()
    b = t.lib.buf_move(a)
    t.delta(c0, "move-constructing a Buffer (only the new object itself: the floats are taken over)", allocs=1, frees=0)
    assert t.ptr(b) == p, "the moved-to Buffer does not hold the moved-from Buffer's floats: a move takes the pointer"
    assert_equal(t.view(b), want, what="the moved-to Buffer's floats")
    assert t.lib.buf_size(a) == 0 and t.ptr(a) == 0, (
        f"after the move the source still has size {t.lib.buf_size(a)} and data {t.ptr(a):#x}: set it to 0 and "
        "nullptr, or both Buffers delete the same block")
    t.lib.buf_free(a)
    assert_equal(t.view(b), want, what="the moved-to Buffer's floats after deleting the moved-from one")
    t.lib.buf_free(b)
    t.lib.assert_no_leaks(after="a move and deleting both Buffers")


@pytest.mark.parametrize("n_dst,n_src", [(7, 100), (100, 7), (0, 5), (5, 0), (3, 3)])
def test_copy_assign_gives_old_memory_back(kata, n_dst, n_src):
    t = B(kata)
    t.lib.reset_counts()
    d, s = t.new(n_dst), t.new(n_src)
    t.write(s, t.view(s) * 3)
    want = t.view(s).copy()
    t.lib.buf_assign(d, s)
    assert t.lib.buf_size(d) == n_src, f"after dst = src (sizes {n_dst} and {n_src}) dst has size {t.lib.buf_size(d)}"
    assert_equal(t.view(d), want, what=f"dst after dst = src (sizes {n_dst}, {n_src})")
    if n_src:
        assert t.ptr(d) != t.ptr(s), "after dst = src both share one block of floats: copy assignment must copy"
    t.lib.buf_free(s)
    assert_equal(t.view(d), want, what="dst after deleting src")
    t.lib.buf_free(d)
    t.lib.assert_no_leaks(after=f"dst = src (copy assignment, sizes {n_dst} and {n_src}) and deleting both")


@pytest.mark.parametrize("n_dst,n_src", [(7, 100), (100, 0), (0, 5)])
def test_move_assign_gives_old_memory_back(kata, n_dst, n_src):
    t = B(kata)
    t.lib.reset_counts()
    d, s = t.new(n_dst), t.new(n_src)
    want, p = t.view(s).copy(), t.ptr(s)
    c0 = t.lib.counts()
    t.lib.buf_move_assign(d, s)
    t.delta(c0, "dst = std::move(src) (no allocation; dst's old floats freed)", allocs=0, frees=1 if n_dst else 0)
    assert t.ptr(d) == p and t.lib.buf_size(d) == n_src, "after dst = std::move(src), dst must hold src's floats"
    assert_equal(t.view(d), want, what="dst after the move assignment")
    assert t.lib.buf_size(s) == 0 and t.ptr(s) == 0, "after dst = std::move(src), src must be empty (size 0, nullptr)"
    t.lib.buf_free(s)
    t.lib.buf_free(d)
    t.lib.assert_no_leaks(after=f"dst = std::move(src) (sizes {n_dst} and {n_src}) and deleting both")


def test_self_assignment(kata):
    t = B(kata)
    t.lib.reset_counts()
    a = t.new(50)
    want = t.view(a).copy()
    t.lib.buf_assign(a, a)
    assert t.lib.buf_size(a) == 50, f"after b = b the size is {t.lib.buf_size(a)}"
    assert_equal(t.view(a), want, what="the floats after b = b")
    t.lib.buf_move_assign(a, a)
    assert t.lib.buf_size(a) == 50, f"after b = std::move(b) the size is {t.lib.buf_size(a)}: self-move must not empty it"
    assert_equal(t.view(a), want, what="the floats after b = std::move(b)")
    t.lib.buf_free(a)
    t.lib.assert_no_leaks(after="b = b, b = std::move(b), delete")


def test_moves_are_noexcept(kata):
    t = B(kata)
    traits = t.lib.buf_traits()
    assert traits & 1, "Buffer(Buffer&&) must be noexcept (std::vector copies instead of moving otherwise)"
    assert traits & 2, "operator=(Buffer&&) must be noexcept"


def test_no_memory_errors_under_asan(kata):
    sanitize.check_program(kata, "sanitize_buffer.cpp")
