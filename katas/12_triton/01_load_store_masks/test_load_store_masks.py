"""Pad or truncate in Triton: two bounds, two masks. Exact results on awkward sizes, x read only below its
end (memory after x holds a sentinel), no torch compute, and bytes moved counted in the interpreter."""
import pytest
import torch

from kata.testing import assert_equal
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bytes, expect

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
SENTINEL = 999.0  # what lies in memory right after x: a load past x's end brings it into the output
VALUE = 7.5

# (n, length): shorter, longer and equal, around the block sizes people pick (128 .. 1024), primes, 1 and 0.
CASES = [(1, 1), (1, 7), (7, 1), (0, 5), (5, 0), (127, 128), (128, 127), (1000, 1025), (1025, 1000),
         (1024, 1024), (1023, 1025), (4097, 6007), (7919, 7920)]


def vector_before_sentinel(n, dtype, device, seed):
    """x of n elements, followed in memory by 2048 SENTINELs (x is a contiguous slice of a bigger buffer)."""
    g = torch.Generator().manual_seed(seed)
    buf = torch.full((n + 2048,), SENTINEL)
    buf[:n] = 4 * torch.randn(n, generator=g)
    return buf.to(dtype=dtype, device=device)[:n]


def check_pad(kata, x, length, value, on):
    guard = forbid_torch_compute()  # the output comes back NaN-filled; x stays as it was
    out = call_checked(kata.module().pad, x, length, value, name="pad()", on=on, within=[guard], guard=True,
                       returns=torch.Tensor, shape=(length,), dtype=x.dtype, device=x.device)
    expect(length == 0 or guard.launches >= 1,
           f"pad() on {on} launched no Triton kernel: fill the output in pad_kernel, not in Python")
    m = min(x.numel(), length)
    want = torch.full((length,), value, dtype=x.dtype)
    want[:m] = x[:m].cpu()
    try:
        assert_equal(out, want, what="pad(x, length, value)", on=on)
    except AssertionError as e:
        got = out.cpu()
        hint = ""
        if (got[m:] == SENTINEL).any():
            hint = (f"\n  the padding holds {SENTINEL:g}, the value stored in memory right after x: your load "
                    "read past the end of x. Lanes at or past n must load nothing (mask offsets < n, other=value).")
        raise AssertionError(str(e) + hint) from None


@pytest.mark.parametrize("n,length", CASES, ids=[f"n{n}-len{m}" for n, m in CASES])
def test_fp32(kata, device, n, length):
    x = vector_before_sentinel(n, torch.float32, device, seed=n)
    check_pad(kata, x, length, VALUE, on=f"x of {n} fp32 elements, length={length}, value={VALUE}")


@pytest.mark.parametrize("n,length", [(1, 7), (1000, 1025), (1025, 1000), (4097, 6007)])
def test_fp16(kata, device, n, length):
    x = vector_before_sentinel(n, torch.float16, device, seed=n)
    check_pad(kata, x, length, -3.25, on=f"x of {n} fp16 elements, length={length}, value=-3.25")


def test_not_1d_raises(kata, device):
    x = torch.zeros((4, 5), device=device)
    try:
        out = kata.module().pad(x, 30, 0.0)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - ValueError is what the README asks for; any clear refusal will do
        return
    pytest.fail(f"pad() of a (4, 5) tensor returned {type(out).__name__} instead of raising ValueError: pad "
                "takes a 1-D tensor", pytrace=False)


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("n,length", [(3001, 5003), (5003, 3001)], ids=["pad", "truncate"])
def test_bytes_moved(kata, device, n, length):
    x = vector_before_sentinel(n, torch.float32, device, seed=1)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        out = mod.pad(x, length, VALUE)
    want = torch.full((length,), VALUE)
    want[:min(n, length)] = x[:min(n, length)].cpu()
    assert_equal(out, want, what="pad(x, length, value)", on=f"the bytes-moved input (n={n}, length={length})")
    m = min(n, length)
    need = (m + length) * 4
    check_bytes(kata, moved, need=need, exact=True, unit=4, noun="elements",
                headline=f"pad() with n={n:,}, length={length:,} (fp32) moved {moved.total:,} bytes; the minimum is "
                         f"({m:,} read + {length:,} written) x 4 = {need:,}, and the gate is exactly that.",
                loaded=(m * 4, "reading only the elements that land in the output",
                        "a lane loads only if offsets < n AND offsets < length (padding lanes take `other=value`)"),
                stored=(length * 4, "the output's length", "each is written once, by one kernel"),
                torch_hint="allocate with torch.empty and let the kernel write `value` itself",
                short="fewer bytes than the minimum: some output elements are never written")
