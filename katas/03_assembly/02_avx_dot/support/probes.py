"""What the AVX dot tests do beside the learner's library: place the arrays (at an offset past a
64-byte boundary, or ending right before an unmapped page) and call dot_f32, plainly or through
native.abi's trampoline. Returns data for the test to judge; under `kata grade` this file runs in the
learner's process (kata.probe), the checks do not."""
from kata.toolkit import at_offset, before_unmapped_page
from native import abi


def place(values, where):
    """A copy of `values` at `where`: None (as it came), an int (bytes past a 64-byte boundary) or
    "unmapped" (its last byte the last one before an unmapped page)."""
    if where is None:
        return values
    if where == "unmapped":
        return before_unmapped_page(values)
    return at_offset(values, int(where))


def dot_f32(lib, a, b, where_a, where_b):
    """dot_f32(a, b, len(a)) with a and b placed at where_a and where_b. Returns {"got": the float,
    "a", "b": the arrays as they were after the call}."""
    pa, pb = place(a, where_a), place(b, where_b)
    got = float(lib.dot_f32(pa, pb, len(pa)))
    return {"got": got, "a": pa.copy(), "b": pb.copy()}


def checked_call(lib, name, args):
    """lib's `name`(*args) through the ABI trampoline: {"got": rax} or {"violation": the checker's
    message}."""
    try:
        return {"got": abi.call(lib, name, *args)}
    except abi.AbiViolation as e:
        return {"violation": str(e)}
