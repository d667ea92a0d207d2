"""Tiled online-softmax attention: agreement with a float64 oracle for any block size (partial last
blocks, blocks that raise the running max, fully masked blocks), and a count of the largest tensor it
ever creates (it must not grow with Lk)."""

import pytest
import torch
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close
from kata.attnkit import attention64 as oracle
from kata.toolkit import OpCensus

TOL = {torch.float32: dict(atol=3e-5, rtol=3e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}
BANNED = {"_softmax", "softmax", "_safe_softmax", "_log_softmax", "log_softmax", "logsumexp",
          "scaled_dot_product_attention", "_scaled_dot_product_attention_math",
          "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_efficient_attention"}


def qkv(lead, lq, lk, d, dv, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype)
    return mk(*lead, lq, d), mk(*lead, lk, d), mk(*lead, lk, dv)


def check(mod, q, k, v, causal, block_k, on, scale=None):
    kw = {} if scale is None else {"scale": scale}
    got = mod.tiled_attention(q, k, v, causal=causal, block_k=block_k, **kw)
    if not isinstance(got, torch.Tensor) or got.dtype != q.dtype:
        raise AssertionError(f"tiled_attention on {on}: expected a {q.dtype} tensor, got {getattr(got, 'dtype', type(got))}")
    want = oracle(q, k, v, causal, scale)
    try:
        assert_close(got, want, **TOL[q.dtype], what="tiled_attention", on=on)
    except AssertionError as e:
        lk = k.shape[-2]
        hints = []
        if lk % block_k:
            full = lk - lk % block_k
            if torch.allclose(got.double(), oracle(q, k[..., :full, :], v[..., :full, :], causal and q.shape[-2] <= full, scale) if full else got.double() * 0, atol=1e-6):
                hints.append(f"your output equals attention over the first {full} keys only: the last, partial block "
                             f"({lk % block_k} keys) was skipped. Loop `for start in range(0, Lk, block_k)`, stop = min(start + block_k, Lk).")
        if not hints:
            hints.append("When a block raises the running maximum from m_old to m_new, everything accumulated so far "
                         "(l and acc) was computed with exp(s - m_old): multiply both by exp(m_old - m_new) before adding "
                         "the new block. At the end return acc / l.")
        raise AssertionError(f"{e}\n  " + "\n  ".join(hints)) from None
    return got


def test_single_block_equals_attention(kata):
    mod = kata.module()
    q, k, v = qkv((), 4, 6, 5, 3, torch.float64, 0)
    check(mod, q, k, v, False, 64, "one block (block_k=64 > Lk=6), float64")


def test_increasing_scores_force_rescaling(kata):
    # Key j scores j * 3 for every query: each new block raises the maximum, so a missing rescale of the
    # earlier blocks' contributions shows at once.
    mod = kata.module()
    lk, d = 40, 4
    q = torch.ones(3, d, dtype=torch.float64)
    k = (torch.arange(lk, dtype=torch.float64)[:, None] * 0.15).expand(lk, d)  # score of key j: 0.3 * j
    v = torch.randn(lk, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    check(mod, q, k, v, False, 8, "scores rising with the key index (each block raises the max), block_k=8")


def test_decreasing_scores(kata):
    mod = kata.module()
    lk, d = 33, 4
    q = torch.ones(2, d, dtype=torch.float64)
    k = -torch.arange(lk, dtype=torch.float64)[:, None].expand(lk, d) / 10
    v = torch.randn(lk, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    check(mod, q, k, v, False, 5, "scores falling with the key index, block_k=5 (33 keys: a partial last block)")


@pytest.mark.parametrize("block_k", [1, 7, 16, 100])
def test_causal_fully_masked_blocks(kata, block_k):
    # Early queries see none of the later blocks: a block whose scores are all -inf must add nothing
    # (and must not turn the running max or sum into NaN).
    mod = kata.module()
    q, k, v = qkv((2,), 37, 37, 6, 4, torch.float64, 3)
    got = check(mod, q, k, v, True, block_k, f"causal 37x37, block_k={block_k}")
    assert torch.isfinite(got).all()


@settings(max_examples=25)
@given(lead=st.lists(st.integers(1, 3), max_size=2).map(tuple), lq=st.integers(1, 9), extra=st.integers(0, 40),
       d=st.sampled_from([1, 3, 8, 13]), dv=st.sampled_from([1, 4, 7]), causal=st.booleans(),
       block_k=st.sampled_from([2, 5, 8, 16, 31]), dtype=st.sampled_from([torch.float32, torch.float64]),
       custom_scale=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_matches_oracle(kata, lead, lq, extra, d, dv, causal, block_k, dtype, custom_scale, seed):
    mod = kata.module()
    q, k, v = qkv(lead, lq, lq + extra, d, dv, dtype, seed)
    q = q * 3  # sharper softmax: rescaling errors show
    before = [t.clone() for t in (q, k, v)]
    scale = 0.6 if custom_scale else None
    on = (f"{str(dtype)[6:]} q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}, causal={causal}, "
          f"block_k={block_k}, scale={scale} (seed {seed})")
    check(mod, q, k, v, causal, block_k, on, scale)
    for b, t, n in zip(before, (q, k, v), "qkv"):
        assert torch.equal(b, t), f"tiled_attention modified its input {n} in place: inputs are read-only"


def test_no_library_softmax(kata):
    mod = kata.module()
    q, k, v = qkv((2,), 5, 20, 4, 3, torch.float32, 4)
    with OpCensus() as c:
        mod.tiled_attention(q, k, v, causal=True, block_k=8)
    used = sorted(BANNED & set(c.ops))
    assert not used, (f"tiled_attention calls aten.{', aten.'.join(used)}: keep the running max and sum yourself "
                      "(that is the online softmax), and do not call scaled_dot_product_attention.")


# ------------------------------------------------------------------------- performance (a count)
# The point of tiling: memory for scores is O(Lq * block_k), not O(Lq * Lk). A dispatch mode sees every
# tensor created (views excluded); the largest must not exceed max(block_k, d, dv) * Lq per (batch, head).
# The reference's largest is Lq * max(block_k, dv); the whole score matrix is Lq * Lk = 16x more here.


@pytest.mark.perf
@pytest.mark.parametrize("lk", [512, 1000])
def test_largest_tensor_is_one_block(kata, lk):
    mod = kata.module()
    lead, lq, d, dv, block_k = (2, 3), 24, 16, 16, 32
    q, k, v = qkv(lead, lq, lk, d, dv, torch.float32, 5)
    with OpCensus() as c:
        out = mod.tiled_attention(q, k, v, causal=True, block_k=block_k)
    per = 2 * 3
    budget = per * lq * max(block_k, d, dv)
    kata.record(largest_elements=c.largest, budget_elements=budget, full_scores=per * lq * lk)
    assert out.shape == (*lead, lq, dv)
    assert c.largest <= budget, (
        f"the largest tensor created has {c.largest:,} elements ({c.largest_op}); the budget is {budget:,} "
        f"= batch*heads ({per}) x Lq ({lq}) x max(block_k, d, dv) ({max(block_k, d, dv)}). The whole score "
        f"matrix would be {per * lq * lk:,}. Compute scores for one block of keys at a time "
        "(k[..., start:stop, :]) and fold them into the running m, l, acc before moving on.")
