"""The instructor's probe for the GPU tier (never learner code): a tiled fp16 matmul in Triton, one CTA per
128 x 128 tile of C, and K long enough that each CTA's time is its Tensor Core work. With 4 pipeline
stages a CTA holds 128 KiB of shared memory, so an H100 or H200 SM holds one: a grid of one tile more
than the SMs takes a second wave."""
import triton
import triton.language as tl

BM = BN = 128
BK = 64


@triton.jit
def tile_matmul(a, b, c, M, N, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    pid = tl.program_id(0)
    n_cols = tl.cdiv(N, BN)
    rm = (pid // n_cols) * BM + tl.arange(0, BM)
    rn = (pid % n_cols) * BN + tl.arange(0, BN)
    rk = tl.arange(0, BK)
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k0 in range(0, K, BK):  # shapes are whole tiles: no masks
        x = tl.load(a + rm[:, None] * K + (k0 + rk)[None, :])
        y = tl.load(b + (k0 + rk)[:, None] * N + rn[None, :])
        acc += tl.dot(x, y)
    tl.store(c + rm[:, None] * N + rn[None, :], acc.to(tl.float16))


def launch(a, b, c, num_stages=4):
    """C = A @ B for A (M x K), B (K x N), M and N multiples of 128, K of 64; the compiled kernel."""
    M, K = a.shape
    N = b.shape[1]
    grid = (triton.cdiv(M, BM) * triton.cdiv(N, BN),)
    return tile_matmul[grid](a, b, c, M, N, K, BM=BM, BN=BN, BK=BK, num_warps=8, num_stages=num_stages)
