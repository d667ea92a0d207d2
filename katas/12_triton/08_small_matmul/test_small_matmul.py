"""A small matmul in Triton with tl.dot: masked K steps, an accumulator carried over K, strides for
transposed operands. int8 exact (int32 accumulation), fp32 and fp16 against float64."""
import pytest
import torch

from kata.testing import assert_close, assert_equal
from kata.tritonkit import forbid_torch_compute
from kata.toolkit import call_checked, describe, expect, randn

# (M, N, K): K is never a multiple of 16 except in the 64-cube, so padding along K is always read.
SHAPES = [(1, 1, 1), (17, 33, 9), (33, 65, 47), (64, 64, 64), (100, 37, 129)]


def make(shape, dtype, device, seed):
    if dtype == torch.int8:
        g = torch.Generator().manual_seed(seed)
        return torch.randint(-128, 128, shape, generator=g, dtype=torch.int8).to(device)
    return randn(shape, dtype, device, seed)


def check(kata, a, b, on):
    M, N = a.shape[0], b.shape[1]
    want_dtype = torch.int32 if a.dtype == torch.int8 else torch.float32
    guard = forbid_torch_compute()  # the output comes back NaN/poison-filled; A and B stay as they were
    c = call_checked(kata.module().matmul, a, b, name="matmul()", on=on, within=[guard], guard=True,
                     returns=torch.Tensor, shape=(M, N), dtype=want_dtype, device=a.device)
    expect(guard.launches >= 1, f"matmul() on {on} launched no Triton kernel: use tl.dot in matmul_kernel")
    ad, bd = a.cpu().double(), b.cpu().double()
    if a.dtype == torch.int8:
        assert_equal(c, (a.cpu().long() @ b.cpu().long()).int(), what="matmul(A, B)", on=on)
    else:
        # float32 accumulation (and fp32 products, not tf32: input_precision="ieee" on a GPU)
        tol = float(2e-6 * (ad.abs() @ bd.abs()).max() + 1e-6)
        assert_close(c, ad @ bd, atol=tol, what="matmul(A, B)", on=on)


@pytest.mark.parametrize("dtype", [torch.float32, torch.int8, torch.float16], ids=["fp32", "int8", "fp16"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in SHAPES])
def test_shapes(kata, device, shape, dtype):
    M, N, K = shape
    a, b = make((M, K), dtype, device, seed=M + K), make((K, N), dtype, device, seed=N + 7 * K)
    check(kata, a, b, on=f"A {describe(a)} @ B {describe(b)}")


@pytest.mark.parametrize("layout", ["a_transposed", "b_transposed", "both"])
def test_strided(kata, device, layout):
    M, N, K = 33, 65, 47
    a = make((K, M), torch.float32, device, 1).t() if layout in ("a_transposed", "both") else \
        make((M, K), torch.float32, device, 1)
    b = make((N, K), torch.float32, device, 2).t() if layout in ("b_transposed", "both") else \
        make((K, N), torch.float32, device, 2)
    check(kata, a, b, on=f"A {describe(a)} @ B {describe(b)}: pass all four strides to the kernel")


def test_int8_large_sums(kata, device):
    # 129 products of up to 128 * 128 reach 2.1 million: only an int32 accumulator holds them.
    a = torch.full((20, 129), -128, dtype=torch.int8, device=device)
    b = torch.full((129, 30), -128, dtype=torch.int8, device=device)
    check(kata, a, b, on="A and B full of -128 (int8), K = 129: every sum is 2,113,536 (accumulate in int32)")
