"""What the int8 dot tests do beside the learner's library: place the arrays (at an offset past a
64-byte boundary, or ending right before an unmapped page) and call dot_i8 through native.abi's
trampoline. Returns data for the test to judge; under `kata grade` this file runs in the learner's
process (kata.probe), the checks do not."""
from kata.toolkit import at_offset, before_unmapped_page
from native import abi


def place(values, where):
    """A copy of `values` at `where`: an int (bytes past a 64-byte boundary) or "unmapped" (its last
    byte the last one before an unmapped page)."""
    if where == "unmapped":
        return before_unmapped_page(values)
    return at_offset(values, int(where))


def dot_i8(lib, a, b, where_a, where_b):
    """dot_i8(a, b, len(a)) through the ABI trampoline, a and b placed at where_a and where_b (None: as
    they came). Returns {"got": the result} or {"violation": the ABI checker's message}, and "a", "b":
    the arrays as they were after the call."""
    pa = a if where_a is None else place(a, where_a)
    pb = b if where_b is None else place(b, where_b)
    try:
        out = {"got": abi.call(lib, "dot_i8", pa, pb, len(pa))}
    except abi.AbiViolation as e:
        out = {"violation": str(e)}
    out["a"], out["b"] = pa.copy(), pb.copy()
    return out
