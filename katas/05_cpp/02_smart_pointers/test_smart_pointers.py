"""Smart pointers: aligned buffers owned by a unique_ptr with a custom deleter, and a cache of shared
tensors that must share while anyone holds a tensor and must not keep it alive once nobody does.
Allocations inside the library are counted; AddressSanitizer checks the deleter matches the allocator."""
import numpy as np
import pytest

from native import sanitize

CDEF = """
typedef struct TensorCache TensorCache;
typedef struct Handle Handle;
float *aligned_new(size_t n, size_t align);
void aligned_delete(float *p);
TensorCache *cache_new(void);
void cache_free(TensorCache *c);
Handle *cache_get(TensorCache *c, const char *name, size_t n);
size_t cache_loads(const TensorCache *c);
size_t cache_live(const TensorCache *c);
Handle *handle_copy(const Handle *h);
void handle_free(Handle *h);
const float *handle_data(const Handle *h);
size_t handle_size(const Handle *h);
long handle_use_count(const Handle *h);
float tensor_seed(const char *name);
"""


def load(kata):
    """The learner's counted library, and the probe that reads addresses and floats beside it."""
    return sanitize.counted_library(kata, CDEF), kata.probe("probes.py")


@pytest.mark.parametrize("align", [4, 8, 16, 64, 256, 4096])
def test_aligned_buffers(kata, align):
    lib, probe = load(kata)
    lib.reset_counts()
    for n in (0, 1, 3, 25, 1000):
        p = lib.aligned_new(n, align)
        a = probe.address(lib, p)
        if a == 0:
            raise AssertionError(f"make_aligned({n}, {align}) returned nullptr")
        assert a % align == 0, f"make_aligned({n}, {align}) returned {a:#x}, not a multiple of {align}"
        assert not probe.floats(lib, p, n).any(), f"make_aligned({n}, {align}): the floats must start at 0.0f"
        lib.aligned_delete(p)
    lib.assert_no_leaks(after=f"make_aligned(n, {align}) and AlignedFree for n = 0, 1, 3, 25, 1000")


@pytest.mark.parametrize("align", [0, 1, 2, 3, 24, 100])
def test_bad_alignment_gives_nullptr(kata, align):
    lib, probe = load(kata)
    p = lib.aligned_new(10, align)
    if probe.address(lib, p) != 0:
        lib.aligned_delete(p)
        raise AssertionError(f"make_aligned(10, {align}) returned memory: {align} is not a power of two >= "
                             "alignof(float) = 4, so it must return nullptr")


def test_cache_shares_live_tensors(kata):
    lib, probe = load(kata)
    c = lib.cache_new()
    a = lib.cache_get(c, b"weights", 1000)
    b = lib.cache_get(c, b"weights", 1000)
    assert probe.address(lib, a) != 0 and probe.address(lib, b) != 0, "get() returned an empty shared_ptr"
    assert lib.cache_loads(c) == 1, f"two get('weights') while the first is held: {lib.cache_loads(c)} loads, expected 1"
    assert probe.data_address(lib, a) == probe.data_address(lib, b), \
        "two get('weights') while the first is held returned different tensors: share the live one"
    assert lib.handle_use_count(a) == 2, (f"use_count is {lib.handle_use_count(a)} with two callers holding the tensor: "
                                          "the cache itself must not own it (store a weak_ptr)")
    assert probe.data_address(lib, a) % 64 == 0, "a tensor's data must be 64-byte aligned"
    want = lib.tensor_seed(b"weights") + np.arange(1000, dtype=np.float32)
    assert np.array_equal(probe.data_floats(lib, a, 1000), want), "the tensor's values are not seed(name) + i"
    other = lib.cache_get(c, b"bias", 7)
    assert lib.cache_loads(c) == 2 and lib.handle_size(other) == 7
    assert probe.data_address(lib, other) != probe.data_address(lib, a)
    for h in (a, b, other):
        lib.handle_free(h)
    lib.cache_free(c)


def test_cache_does_not_keep_tensors_alive(kata):
    lib, _ = load(kata)
    lib.reset_counts()
    c = lib.cache_new()
    a = lib.cache_get(c, b"weights", 4096)
    b = lib.handle_copy(a)
    held = lib.counts().live_bytes
    lib.handle_free(a)
    assert lib.cache_live(c) == 1, "one caller still holds 'weights': live() must be 1"
    lib.handle_free(b)
    freed = held - lib.counts().live_bytes
    assert lib.cache_live(c) == 0, f"nobody holds 'weights' any more, but live() is {lib.cache_live(c)}"
    assert freed >= 4 * 4096, (f"the last holder let go of 'weights', but only {freed} bytes were freed: its 16 KiB "
                               "of data is still allocated. The cache keeps it alive: store std::weak_ptr, not shared_ptr")
    d = lib.cache_get(c, b"weights", 4096)
    assert lib.cache_loads(c) == 2, f"get('weights') after it was freed must load it again (loads {lib.cache_loads(c)})"
    lib.handle_free(d)
    lib.cache_free(c)
    lib.assert_no_leaks(after="get, copy, release, get again, delete the cache")


def test_tensors_outlive_the_cache(kata):
    lib, probe = load(kata)
    lib.reset_counts()
    c = lib.cache_new()
    hs = [lib.cache_get(c, f"t{i}".encode(), 100 + i) for i in range(20)]
    for h in hs[::2]:
        lib.handle_free(h)
    assert lib.cache_live(c) == 10, f"10 of 20 tensors are still held: live() is {lib.cache_live(c)}"
    lib.cache_free(c)
    for i, h in list(enumerate(hs))[1::2]:
        want = lib.tensor_seed(f"t{i}".encode()) + np.arange(100 + i, dtype=np.float32)
        assert np.array_equal(probe.data_floats(lib, h, 100 + i), want), \
            f"tensor t{i} changed after the cache was deleted: its holders share ownership, it must stay valid"
        lib.handle_free(h)
    lib.assert_no_leaks(after="20 tensors, half released, the cache deleted, then the rest released")


def test_no_memory_errors_under_asan(kata):
    sanitize.check_program(kata, "sanitize_cache.cpp")
