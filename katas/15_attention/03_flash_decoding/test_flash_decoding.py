"""Flash decoding: each split's (out, lse), the merge against full attention (associativity, empty
splits, huge logits), and that flash_decode really splits the keys as asked."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close

T64 = dict(atol=1e-12, rtol=1e-10)


def full(q, k, v, scale=None):
    """float64 oracle: (out, lse) of q (B,H,d) over all of k, v."""
    q, k, v = q.double(), k.double(), v.double()
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = torch.einsum("bhd,bhld->bhl", q, k) * scale
    return torch.einsum("bhl,bhld->bhd", torch.softmax(s, -1), v), torch.logsumexp(s, -1)


def make(B, H, L, d, dv, seed, dtype=torch.float64, mag=1.0):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s: (torch.randn(*s, generator=g, dtype=torch.float64) * mag).to(dtype)
    return mk(B, H, d), mk(B, H, L, d), mk(B, H, L, dv)


def test_partial_out_and_lse(kata):
    mod = kata.module()
    q, k, v = make(2, 3, 11, 5, 4, 0)
    out, lse = mod.partial_attention(q, k, v)
    want_out, want_lse = full(q, k, v)
    assert tuple(out.shape) == (2, 3, 4) and tuple(lse.shape) == (2, 3), (
        f"partial_attention returned out {tuple(out.shape)} and lse {tuple(lse.shape)}; expected (2, 3, 4) and (2, 3)")
    assert_close(out, want_out, **T64, what="partial out", on="B=2, H=3, L=11, d=5, dv=4")
    if torch.allclose(lse, want_lse - math.log(11), atol=1e-9):
        raise AssertionError("your lse is log(mean(exp(s))): it must be log(sum(exp(s))), the log of the softmax "
                             "denominator, so that chunks of different lengths merge correctly.")
    if torch.allclose(lse, torch.einsum("bhd,bhld->bhl", q, k).amax(-1) / math.sqrt(5), atol=1e-9):
        raise AssertionError("your lse is the row maximum m alone: return m + log(sum(exp(s - m))).")
    assert_close(lse, want_lse, **T64, what="lse = logsumexp(q.k / sqrt(d))", on="B=2, H=3, L=11, d=5")


def test_partial_huge_logits(kata):
    mod = kata.module()
    q, k, v = make(1, 2, 9, 4, 3, 1, mag=40.0)
    out, lse = mod.partial_attention(q, k, v)
    want_out, want_lse = full(q, k, v)
    assert torch.isfinite(out).all() and torch.isfinite(lse).all(), (
        f"partial_attention gave non-finite values for scores up to {float(want_lse.max()):.0f}: subtract the max "
        "score before exp, and add it back to the lse (lse = m + log(sum(exp(s - m)))).")
    assert_close(out, want_out, **T64, what="partial out", on="scores in the thousands")
    assert_close(lse, want_lse, atol=1e-9, rtol=1e-12, what="partial lse", on="scores in the thousands")


def test_partial_empty_chunk(kata):
    mod = kata.module()
    q, k, v = make(2, 2, 0, 4, 3, 2)
    out, lse = mod.partial_attention(q, k, v)
    assert tuple(out.shape) == (2, 2, 3), f"empty chunk: out shape {tuple(out.shape)}, expected (2, 2, 3)"
    assert bool((lse == float("-inf")).all()), (
        f"an empty chunk must report lse = -inf (log of an empty sum), got {lse.flatten().tolist()}: "
        "then exp(lse - m) = 0 gives it no weight in the merge.")


def _split(q, k, v, cuts, mod):
    outs, lses = [], []
    for a, b in zip(cuts[:-1], cuts[1:]):
        o, s = mod.partial_attention(q, k[..., a:b, :], v[..., a:b, :])
        outs.append(o)
        lses.append(s)
    return torch.stack(outs), torch.stack(lses)


def _diagnose(outs, lses, got) -> str:
    avg = outs.mean(0)
    if torch.allclose(got.double(), avg.double(), atol=1e-9):
        return ("Diagnosis: your merge is a plain average of the partial outputs. Split i holds exp(lse_i) of the "
                "total softmax mass: weight it by exp(lse_i - M) / sum_j exp(lse_j - M), M = max_j lse_j.")
    return "Expected sum_i w_i out_i with w_i = exp(lse_i - M) / sum_j exp(lse_j - M), M = max_j lse_j."


@settings(max_examples=40)
@given(B=st.integers(1, 2), H=st.integers(1, 3), L=st.integers(1, 60), d=st.sampled_from([3, 8, 13]),
       dv=st.sampled_from([1, 5]), ncuts=st.integers(1, 6), mag=st.sampled_from([1.0, 3.0]),
       seed=st.integers(0, 2**31 - 1))
def test_merge_equals_full(kata, B, H, L, d, dv, ncuts, mag, seed):
    mod = kata.module()
    q, k, v = make(B, H, L, d, dv, seed, mag=mag)
    g = torch.Generator().manual_seed(seed)
    cuts = sorted({0, L, *torch.randint(0, L + 1, (ncuts,), generator=g).tolist()})
    outs, lses = _split(q, k, v, cuts, mod)
    out, lse = mod.merge_partials(outs, lses)
    want_out, want_lse = full(q, k, v)
    on = f"B={B}, H={H}, L={L}, d={d}, dv={dv}, split at {cuts}, q,k ~ randn*{mag:g} (seed {seed})"
    try:
        assert_close(out, want_out, **T64, what="merged out", on=on)
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {_diagnose(outs, lses, out)}") from None
    assert_close(lse, want_lse, **T64, what="merged lse", on=on)


def test_merge_is_associative(kata):
    # merge(merge(a, b), c) == merge(a, merge(b, c)) == merge(a, b, c): what lets a tree of splits work.
    mod = kata.module()
    q, k, v = make(2, 2, 30, 6, 4, 3, mag=2.0)
    outs, lses = _split(q, k, v, [0, 4, 19, 30], mod)
    ab = mod.merge_partials(outs[:2], lses[:2])
    left = mod.merge_partials(torch.stack([ab[0], outs[2]]), torch.stack([ab[1], lses[2]]))
    bc = mod.merge_partials(outs[1:], lses[1:])
    right = mod.merge_partials(torch.stack([outs[0], bc[0]]), torch.stack([lses[0], bc[1]]))
    want_out, want_lse = full(q, k, v)
    assert_close(left[0], want_out, **T64, what="merge(merge(a, b), c)", on="splits of 4, 15, 11 keys")
    assert_close(right[0], want_out, **T64, what="merge(a, merge(b, c))", on="splits of 4, 15, 11 keys")
    assert_close(left[1], want_lse, **T64, what="lse of merge(merge(a, b), c)", on="splits of 4, 15, 11 keys")


def test_merge_ignores_empty_splits_even_if_nan(kata):
    mod = kata.module()
    q, k, v = make(1, 2, 10, 4, 3, 4)
    outs, lses = _split(q, k, v, [0, 6, 10], mod)
    junk = torch.full_like(outs[:1], float("nan"))
    ninf = torch.full_like(lses[:1], float("-inf"))
    out, lse = mod.merge_partials(torch.cat([junk, outs, junk]), torch.cat([ninf, lses, ninf]))
    want_out, want_lse = full(q, k, v)
    if not torch.isfinite(out).all():
        raise AssertionError("merge_partials returned NaN when some splits were empty (lse = -inf, out = NaN): an "
                             "empty split has weight exp(-inf) = 0, but 0 * NaN is NaN. Zero their outputs first "
                             "(torch.where on the weight, or nan_to_num).")
    assert_close(out, want_out, **T64, what="merged out", on="two real splits and two empty ones holding NaN")
    assert_close(lse, want_lse, **T64, what="merged lse", on="two real splits and two empty ones")


def test_merge_huge_lse(kata):
    # lse around 1e4: exp(lse) overflows even in float64. Subtract the largest lse first.
    mod = kata.module()
    outs = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]], [[[5.0, 5.0]]]], dtype=torch.float64)
    lses = torch.tensor([[[10000.0]], [[10000.0 + math.log(3)]], [[-10000.0]]], dtype=torch.float64)
    out, lse = mod.merge_partials(outs, lses)
    if not torch.isfinite(out).all():
        raise AssertionError(f"merge_partials with lse = 1e4 gave {out.flatten().tolist()}: exp(1e4) is inf. Weight "
                             "split i by exp(lse_i - M) with M = max_j lse_j, and return lse = M + log(sum_i exp(lse_i - M)).")
    assert_close(out.flatten(), torch.tensor([0.25, 0.75], dtype=torch.float64), **T64, what="merged out",
                 on="lse = [1e4, 1e4 + log 3, -1e4]: weights 1/4, 3/4, ~0")
    assert_close(lse.flatten(), torch.tensor([10000.0 + math.log(4)], dtype=torch.float64), atol=1e-9,
                 what="merged lse", on="lse = [1e4, 1e4 + log 3, -1e4]")


@pytest.mark.parametrize("L,splits", [(64, 4), (61, 4), (7, 3), (5, 8), (1, 3), (100, 7)])
def test_flash_decode(kata, L, splits):
    mod = kata.module()
    q, k, v = make(2, 3, L, 8, 6, L * 31 + splits, dtype=torch.float32, mag=2.0)
    seen = []
    original = mod.partial_attention

    def spy(q_, k_, v_, *a, **kw):
        seen.append(k_.shape[-2])
        return original(q_, k_, v_, *a, **kw)

    mod.partial_attention = spy
    out = mod.flash_decode(q, k, v, splits)
    chunk = -(-L // splits)
    want = [max(0, min(chunk, L - i * chunk)) for i in range(splits)]
    assert seen == want, (f"flash_decode(L={L}, num_splits={splits}) called partial_attention on chunks of {seen} keys; "
                          f"expected {want} (contiguous chunks of ceil(L / num_splits) = {chunk}; trailing ones may be "
                          "short or empty). Call the module-level partial_attention once per split.")
    assert_close(out, full(q, k, v)[0], atol=3e-6, rtol=3e-6, what="flash_decode",
                 on=f"float32 B=2, H=3, L={L}, d=8, dv=6, num_splits={splits}")
