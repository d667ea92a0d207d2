"""The instructor's probe for the GPU tier (never learner code): one CTA per 128 x 256 tile of C whose time is
its Tensor Core work and nothing else.

Each CTA loads its A block (128 x 64) and one B block (64 x 256) once, then runs a chain of K / 64 MMAs
into one accumulator, each depending on the last: C = (K / 64) * A[:, :64] @ B[:64, :]. A real tiled
matmul streams a fresh A and B block every step, and with every SM streaming at once it is memory-bound
at this tile size: then a lone CTA in a partial wave gets most of the memory system to itself and runs
far faster than a full wave's CTAs do (an H100 measured 133 tiles at 1.38x the time of 132, not 2x).
Here nothing is shared between SMs, so one tile past a whole wave costs a whole wave, as the model says.
The 128 x 256 fp32 accumulator takes half the register file of an SM, so an SM holds one CTA."""
import triton
import triton.language as tl

BM, BN, BK = 128, 256, 64


@triton.jit
def tile_mma_chain(a, b, c, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    pid = tl.program_id(0)
    rm = pid * BM + tl.arange(0, BM)
    rn = tl.arange(0, BN)
    rk = tl.arange(0, BK)
    x = tl.load(a + rm[:, None].to(tl.int64) * K + rk[None, :])  # loaded once, then only the Tensor Cores work
    y = tl.load(b + rk[:, None] * BN + rn[None, :])
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for _ in range(0, K, BK):
        acc = tl.dot(x, y, acc)
    tl.store(c + rm[:, None].to(tl.int64) * BN + rn[None, :], acc.to(tl.float16))


def launch(a, b, c):
    """C = (K / BK) * A[:, :BK] @ B[:BK, :] for A (M x K), B (K x BN), C (M x BN), M a multiple of BM and K
    of BK: one CTA per BM rows; returns the compiled kernel."""
    M, K = a.shape
    assert b.shape == (K, BN) and c.shape == (M, BN) and M % BM == 0 and K % BK == 0
    return tile_mma_chain[(M // BM,)](a, b, c, K, BM=BM, BN=BN, BK=BK, num_warps=8, num_stages=1)
