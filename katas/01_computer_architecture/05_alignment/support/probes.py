"""What the alignment tests do beside the learner's library: allocate, write and read the blocks its
allocator returns, at their addresses. Each function returns data (addresses, bytes) for the test to
judge; under `kata grade` this file runs in the learner's process (kata.probe), the checks do not."""
import ctypes


def allocate(lib, requests, fill=0xAB):
    """aligned_malloc(size, align) for each (size, align); each block is filled with `fill` (the whole
    block must be writable) and left live. Returns the addresses (0 for NULL)."""
    out = []
    for size, align in requests:
        a = int(lib.ffi.cast("uintptr_t", lib.aligned_malloc(size, align)))
        if a and a % max(align, 1) == 0:
            ctypes.memset(a, fill, size)
        out.append(a)
    return out


def free(lib, addresses):
    """aligned_free on each address (0 is NULL)."""
    for a in addresses:
        lib.aligned_free(lib.ffi.cast("void *", a))


def churn(lib, ops):
    """Run ("alloc", size, align, fill) and ("free", k) operations, k naming the k-th alloc. An alloc
    fills its block; a free first reads the block back. Returns, per op, the address an alloc got or
    the bytes a free read, stopping after an alloc that returned NULL or a misaligned address."""
    blocks, out = [], []
    for op in ops:
        if op[0] == "alloc":
            _, size, align, fill = op
            a = int(lib.ffi.cast("uintptr_t", lib.aligned_malloc(size, align)))
            out.append(a)
            blocks.append((a, size))
            if not a or a % align:
                break
            ctypes.memset(a, fill, size)
        else:
            a, size = blocks[op[1]]
            out.append(ctypes.string_at(a, size))
            lib.aligned_free(lib.ffi.cast("void *", a))
    return out
