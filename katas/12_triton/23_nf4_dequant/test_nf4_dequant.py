"""NF4 dequantization in Triton: exact values against a torch table lookup on sizes no block divides, odd
element counts, every byte value and several block sizes; no torch compute; bytes moved (CPU);
bandwidth (GPU)."""
import pytest
import torch

from kata.testing import assert_equal
from kata.timing import gpu_ms
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bandwidth, expect

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def make(n, blocksize, device, seed):
    g = torch.Generator(device=device).manual_seed(seed)
    packed = torch.randint(0, 256, ((n + 1) // 2,), generator=g, device=device, dtype=torch.uint8)
    if n % 2:
        packed[-1] &= 0xF0  # an odd count: the last byte's low nibble is padding
    absmax = torch.rand(-(-n // blocksize), generator=g, device=device) * 4 + 0.01
    return packed, absmax


def reference(packed, absmax, n, blocksize, dtype):
    p = packed.cpu().long()
    codes = torch.stack([p >> 4, p & 15], dim=1).reshape(-1)[:n]  # high nibble first
    table = torch.tensor(NF4, dtype=torch.float32)
    scale = absmax.cpu().repeat_interleave(blocksize)[:n]
    return (table[codes] * scale).to(dtype)  # one float32 product, rounded once


def check(kata, packed, absmax, n, blocksize, dtype, on):
    # packed and absmax stay as they were; the output is a `dtype` tensor of n elements
    out = call_checked(kata.module().nf4_dequant, packed, absmax, n, blocksize, dtype, name="nf4_dequant", on=on,
                       guard=True, returns=torch.Tensor, shape=(n,), dtype=dtype)
    assert_equal(out, reference(packed, absmax, n, blocksize, dtype), on=on,
                 what="nf4_dequant (NF4[code] * absmax[j // blocksize])")


# ---------------------------------------------------------------------------------------- correctness

CASES = [(1, 64), (1001, 64), (12293, 128), (5000, 256)]


@pytest.mark.parametrize("n,blocksize", CASES, ids=[f"n{n}-bs{b}" for n, b in CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sizes(kata, device, dtype, n, blocksize):
    packed, absmax = make(n, blocksize, device, seed=n)
    check(kata, packed, absmax, n, blocksize, DTYPES[dtype], f"n={n}, blocksize={blocksize}, {dtype} output")


def test_every_byte(kata, device):
    # All 256 byte values, so every (high, low) code pair; absmax 1 then 2 (blocksize 64 = 32 bytes).
    packed = torch.arange(256, dtype=torch.uint8, device=device)
    absmax = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], device=device)
    check(kata, packed, absmax, 512, 64, torch.float32, "the bytes 0..255 in order (every nibble pair)")


def test_small_blocksize(kata, device):
    # blocksize 32: more absmax groups per program than with 64; a byte index used as an element index
    # picks the wrong group from element 32 on.
    packed, absmax = make(3333, 32, device, seed=1)
    check(kata, packed, absmax, 3333, 32, torch.float32, "n=3333, blocksize=32")


def test_no_torch_compute(kata, device):
    packed, absmax = make(5000, 64, device, seed=2)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        mod.nf4_dequant(packed, absmax, 5000, 64, torch.float32)
    expect(guard.launches >= 1, "nf4_dequant returned without launching a Triton kernel")


# -------------------------------------------------------------------------------- bytes moved (CPU)

N_B = 50_001


@pytest.mark.perf
@pytest.mark.interpret
def test_bytes_moved(kata, device):
    packed, absmax = make(N_B, 64, device, seed=3)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        mod.nf4_dequant(packed, absmax, N_B, 64, torch.float16)
    need = packed.numel() + absmax.numel() * 4 + N_B * 2
    kata.record(bytes_moved=moved.total, bytes_minimum=need, bytes_ratio=round(moved.total / need, 3))
    expect(moved.total == need, (
        f"nf4_dequant of {N_B:,} elements (blocksize 64, fp16 output) moved {moved.total:,} bytes; the minimum is "
        f"{need:,}: read the {packed.numel():,} packed bytes once, the {absmax.numel():,} float32 scales once, and "
        f"write {N_B:,} fp16 values once. That is {moved.total / need:.2f}x; the gate is exactly 1x.\n  {moved}\n"
        "  Codes need not go through memory: split each loaded byte into its two nibbles in registers. The "
        "16 code values can be constants in the kernel (a select tree on the code's bits) rather than a "
        "table loaded per element, and each group's absmax can be loaded once and broadcast over its "
        "blocksize elements (reshape the values to (groups, blocksize))."))


# ---------------------------------------------------------------------------------------------- GPU

N_GPU = 2**28  # 268M weights: 128 MiB packed, 512 MiB of bf16 output
FRACTION_OF_COPY = 0.6  # H100: the reference (tl.gather) 0.95, a per-element select tree 0.70, the naive 0.23


@pytest.mark.gpu
def test_bf16(kata, device):
    n = 1_000_003
    packed, absmax = make(n, 64, device, seed=4)
    check(kata, packed, absmax, n, 64, torch.bfloat16, f"n={n}, blocksize=64, bf16 output")


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
def test_bandwidth(kata, device):
    packed, absmax = make(N_GPU, 64, "cuda", seed=5)
    mod = kata.module()
    out = mod.nf4_dequant(packed, absmax, N_GPU, 64, torch.bfloat16)
    table = torch.tensor(NF4, device="cuda")

    def eager():
        p = packed.long()
        codes = torch.stack([p >> 4, p & 15], dim=1).reshape(-1)
        return (table[codes].view(-1, 64) * absmax[:, None]).to(torch.bfloat16).view(-1)
    expect(torch.equal(out, eager()), "nf4_dequant on the timed input is wrong: fix correctness first")
    del out
    ms = gpu_ms(lambda: mod.nf4_dequant(packed, absmax, N_GPU, 64, torch.bfloat16))
    eager_ms = gpu_ms(eager)
    check_bandwidth(kata, what=f"nf4_dequant of {N_GPU:,} elements to bf16", ms=ms,
                    nbytes=packed.numel() + absmax.numel() * 4 + N_GPU * 2,
                    moves="the packed bytes, the scales and the output once", fraction=FRACTION_OF_COPY,
                    baseline_ms=eager_ms, baseline_name="eager torch unpack-and-lookup", key="eager",
                    fraction_hint="Codes written to memory and read back, or tiny blocks, cost bandwidth.")
