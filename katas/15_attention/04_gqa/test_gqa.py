"""Grouped-query attention: head-to-group mapping (h // G), MQA and MHA as special cases, causal masks
with Lq < Lk, and a count of the largest tensor created (no per-query-head copy of K or V)."""

import pytest
import torch
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close
from kata.attnkit import attention64
from kata.toolkit import OpCensus

TOL = {torch.float32: dict(atol=3e-5, rtol=3e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}
BANNED = {"_softmax", "softmax", "_safe_softmax", "scaled_dot_product_attention",
          "_scaled_dot_product_attention_math", "_scaled_dot_product_flash_attention_for_cpu"}


def oracle(q, k, v, causal, mapping="div", top_left=False):
    G = q.shape[1] // k.shape[1]
    idx = torch.arange(q.shape[1]) // G if mapping == "div" else torch.arange(q.shape[1]) % k.shape[1]
    return attention64(q, k[:, idx], v[:, idx], causal, offset=0 if top_left else None)


def make(B, Hq, Hkv, Lq, Lk, d, dv, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype)
    return mk(B, Hq, Lq, d), mk(B, Hkv, Lk, d), mk(B, Hkv, Lk, dv)


def check(mod, q, k, v, causal, on):
    got = mod.gqa_attention(q, k, v, causal=causal)
    want = oracle(q, k, v, causal)
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
        raise AssertionError(f"gqa_attention on {on}: expected shape {tuple(want.shape)}, got "
                             f"{tuple(getattr(got, 'shape', ())) or type(got).__name__}")
    try:
        assert_close(got, want, **TOL[q.dtype], what="gqa_attention", on=on)
    except AssertionError as e:
        why = "Expected query head h to use KV head h // G (G = Hq / Hkv)."
        if k.shape[1] > 1 and q.shape[1] > k.shape[1] and torch.allclose(got.double(), oracle(q, k, v, causal, "mod"), atol=1e-5):
            why = ("Diagnosis: your query head h reads KV head h % Hkv. The groups are contiguous: heads 0..G-1 share "
                   "KV head 0 (h // G). repeat_interleave, not repeat; or reshape q to (B, Hkv, G, ...), not (B, G, Hkv, ...).")
        elif causal and torch.allclose(got.double(), oracle(q, k, v, causal, top_left=True), atol=1e-5):
            why = ("Diagnosis: your causal mask is aligned top-left (j <= i). With Lq < Lk the queries are the last "
                   "Lq positions: query i may see keys j <= i + Lk - Lq.")
        raise AssertionError(f"{e}\n  {why}") from None


@pytest.mark.parametrize("Hq,Hkv", [(4, 4), (6, 1), (6, 2), (6, 3), (12, 4)], ids=lambda x: str(x))
def test_group_mapping(kata, Hq, Hkv):
    mod = kata.module()
    q, k, v = make(2, Hq, Hkv, 5, 5, 8, 4, torch.float64, Hq * 10 + Hkv)
    check(mod, q, k, v, False, f"B=2, Hq={Hq}, Hkv={Hkv} (G={Hq // Hkv}), L=5, d=8, float64")


def test_each_group_reads_its_own_kv_head(kata):
    # KV head j holds values all equal to j: every query head's output must be the number of its group.
    mod = kata.module()
    B, Hq, Hkv, L = 1, 8, 4, 6
    q, k, _ = make(B, Hq, Hkv, L, L, 4, 1, torch.float64, 7)
    v = torch.arange(Hkv, dtype=torch.float64).view(1, Hkv, 1, 1).expand(B, Hkv, L, 3).contiguous()
    got = mod.gqa_attention(q, k, v)
    heads = got[0, :, 0, 0].round().tolist()
    want = [h // (Hq // Hkv) for h in range(Hq)]
    assert heads == want, (f"with KV head j holding the value j everywhere, query heads 0..{Hq - 1} read KV heads "
                           f"{[int(x) for x in heads]}; expected {want} (h // G with G = {Hq // Hkv}).")


@pytest.mark.parametrize("Lq,Lk", [(1, 9), (3, 11), (7, 7)])
def test_causal_with_cache(kata, Lq, Lk):
    mod = kata.module()
    q, k, v = make(2, 6, 2, Lq, Lk, 5, 3, torch.float64, Lq * 100 + Lk)
    check(mod, q, k, v, True, f"causal, Lq={Lq}, Lk={Lk} (the queries are the last {Lq} positions), Hq=6, Hkv=2")


@settings(max_examples=30)
@given(B=st.integers(1, 2), Hkv=st.integers(1, 3), G=st.integers(1, 4), Lq=st.integers(1, 9), extra=st.integers(0, 12),
       d=st.sampled_from([3, 8, 17]), dv=st.sampled_from([1, 6]), causal=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**31 - 1))
def test_matches_oracle(kata, B, Hkv, G, Lq, extra, d, dv, causal, dtype, seed):
    mod = kata.module()
    q, k, v = make(B, Hkv * G, Hkv, Lq, Lq + extra, d, dv, dtype, seed)
    before = [t.clone() for t in (q, k, v)]
    check(mod, q, k, v, causal, f"{str(dtype)[6:]} B={B}, Hq={Hkv * G}, Hkv={Hkv}, Lq={Lq}, Lk={Lq + extra}, d={d}, "
          f"dv={dv}, causal={causal} (seed {seed})")
    for b, t, n in zip(before, (q, k, v), "qkv"):
        assert torch.equal(b, t), f"gqa_attention modified its input {n} in place"


def test_no_library_attention(kata):
    mod = kata.module()
    q, k, v = make(1, 4, 2, 3, 5, 4, 4, torch.float32, 8)
    with OpCensus() as c:
        mod.gqa_attention(q, k, v, causal=True)
    used = sorted(BANNED & set(c.ops))
    assert not used, f"gqa_attention calls aten.{', aten.'.join(used)}: write the softmax yourself."


# ------------------------------------------------------------------------- performance (a count)
# GQA exists to shrink the KV cache (and the bytes read from it) by G. Copying K and V out to Hq heads
# undoes that at every step. The largest tensor you create may be the scores, q or the output; a copy
# of K per query head (B*Hq*Lk*d elements) is 21x the scores here.


@pytest.mark.perf
def test_no_kv_copy_per_query_head(kata):
    mod = kata.module()
    B, Hq, Hkv, Lq, Lk, d = 2, 8, 2, 3, 300, 64
    q, k, v = make(B, Hq, Hkv, Lq, Lk, d, d, torch.float32, 9)
    with OpCensus() as c:
        out = mod.gqa_attention(q, k, v, causal=True)
    budget = max(B * Hq * Lq * Lk, B * Hq * Lq * d)
    kata.record(largest_elements=c.largest, budget_elements=budget, kv_copy_elements=B * Hq * Lk * d)
    assert tuple(out.shape) == (B, Hq, Lq, d)
    assert c.largest <= budget, (
        f"the largest tensor created has {c.largest:,} elements ({c.largest_op}); budget {budget:,} (the scores, "
        f"B*Hq*Lq*Lk). A copy of K or V per query head is {B * Hq * Lk * d:,}. Do not repeat K/V: reshape q to "
        f"(B, Hkv, G*Lq, d), so one matmul per KV head serves its whole group (broadcasting k with an unsqueezed "
        "group dimension makes matmul copy it, too).")
