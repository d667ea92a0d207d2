"""Naive attention: softmax that survives large logits, the 1/sqrt(d) scale, the causal mask, and
agreement with a float64 oracle on shapes that are not powers of two."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close, assert_equal
from kata.attnkit import attention64 as oracle
from kata.toolkit import OpCensus

TOL = {torch.float32: dict(atol=2e-5, rtol=2e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}
BANNED = {"_softmax", "softmax", "_safe_softmax", "_log_softmax", "log_softmax", "special_softmax",
          "scaled_dot_product_attention", "_scaled_dot_product_attention_math",
          "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_efficient_attention",
          "_scaled_dot_product_flash_attention", "_scaled_dot_product_fused_attention_overrideable"}


def qkv(lead, lq, lk, d, dv, dtype, seed, mag=1.0):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s: (torch.randn(*s, generator=g, dtype=torch.float64) * mag).to(dtype)
    return mk(*lead, lq, d), mk(*lead, lk, d), mk(*lead, lk, dv)


def diagnose(mod, q, k, v, causal, got) -> str:
    d = q.shape[-1]
    for want, why in [
        (oracle(q, k, v, causal, 1.0 / d), "matches scale 1/d: the default scale is 1/sqrt(d) (d = head dim)."),
        (oracle(q, k, v, causal, 1.0), "matches no scaling at all: multiply the scores by 1/sqrt(d)."),
        (oracle(q, k, v, causal, math.sqrt(d)), "matches scores * sqrt(d): divide by sqrt(d), do not multiply."),
        (oracle(q, k, v, not causal), "matches the opposite `causal` setting: is the flag ignored or inverted?"),
    ]:
        if torch.allclose(got.double(), want, rtol=1e-4, atol=1e-5):
            return "Diagnosis: your output " + why
    return "Expected softmax(q @ k^T / sqrt(d)) @ v (float64 oracle)."


# ------------------------------------------------------------------------------------------ softmax


def test_softmax_large_logits(kata):
    # exp(1000) is inf in float32 and float64: without subtracting the row max, inf / inf = NaN.
    mod = kata.module()
    s = torch.tensor([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0], [0.0, 0.0, 0.0],
                      [89.0, 0.0, -89.0]], dtype=torch.float32)
    got = mod.softmax(s, dim=-1)
    want = torch.softmax(s.double(), -1)
    if not torch.isfinite(got).all():
        raise AssertionError(f"softmax of rows like [1000, 999, 998] gave {got[0].tolist()}: exp(1000) overflows to inf "
                             "and inf / inf is NaN (or everything underflows to 0 and 0 / 0 is NaN). softmax(s) = "
                             "softmax(s - max(s)): subtract the row maximum before exp.")
    assert_close(got, want, atol=1e-6, rtol=1e-6, what="softmax", on=f"rows {s.tolist()}")


@settings(max_examples=40)
@given(rows=st.integers(1, 9), cols=st.integers(1, 37), shift=st.sampled_from([0.0, 300.0, -300.0, 5000.0]),
       dim=st.sampled_from([-1, 0]), seed=st.integers(0, 2**31 - 1))
def test_softmax_any_shape_and_dim(kata, rows, cols, shift, dim, seed):
    mod = kata.module()
    g = torch.Generator().manual_seed(seed)
    s = (torch.randn(rows, cols, generator=g, dtype=torch.float64) * 4 + shift)
    got = mod.softmax(s, dim=dim)
    assert_close(got, torch.softmax(s, dim), atol=1e-12, rtol=1e-9, what="softmax",
                 on=f"float64 ({rows}x{cols}) randn*4 + {shift:g}, dim={dim} (seed {seed})")


# -------------------------------------------------------------------------------------- causal mask


@pytest.mark.parametrize("lq,lk", [(1, 1), (5, 5), (3, 7), (1, 9), (6, 13)])
def test_causal_mask(kata, lq, lk):
    mod = kata.module()
    got = mod.causal_mask(lq, lk)
    want = torch.arange(lk)[None, :] <= torch.arange(lq)[:, None] + (lk - lq)
    if not isinstance(got, torch.Tensor) or got.dtype != torch.bool:
        raise AssertionError(f"causal_mask({lq}, {lk}) must be a bool tensor, got {type(got).__name__} "
                             f"{getattr(got, 'dtype', '')}")
    hint = (" Query i sits at position i + (lk - lq): with a KV cache the new queries are the last ones, so the "
            "mask is aligned to the bottom-right corner." if lq != lk else
            " Query i sees keys 0..i, including its own position i.")
    try:
        assert_equal(got.int(), want.int(), what=f"causal_mask({lq}, {lk})", on="True = may attend")
    except AssertionError as e:
        raise AssertionError(f"{e}\n  expected:\n{want.int()}\n  got:\n{got.int()}\n {hint}") from None


# ---------------------------------------------------------------------------------------- attention


def test_no_library_softmax(kata):
    mod = kata.module()
    q, k, v = qkv((2,), 5, 7, 6, 3, torch.float32, 0)
    with OpCensus() as log:
        mod.attention(q, k, v, causal=True)
    used = sorted(BANNED & set(log.ops))
    assert not used, (f"attention() calls aten.{', aten.'.join(used)}: write the softmax yourself (max, subtract, "
                      "exp, sum, divide) and do not call scaled_dot_product_attention.")


@pytest.mark.parametrize("causal", [False, True])
def test_known_small_case(kata, causal):
    mod = kata.module()
    q, k, v = qkv((), 4, 4, 5, 3, torch.float64, 1)
    got = mod.attention(q, k, v, causal=causal)
    try:
        assert_close(got, oracle(q, k, v, causal), **TOL[torch.float64], what="attention(q, k, v)",
                     on=f"float64 q, k (4x5), v (4x3), causal={causal}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {diagnose(mod, q, k, v, causal, got)}") from None


def test_first_query_sees_only_first_key(kata):
    # Causal, lq == lk: query 0 may attend only to key 0, so output row 0 equals v[0] exactly.
    mod = kata.module()
    q, k, v = qkv((), 6, 6, 4, 4, torch.float64, 2)
    got = mod.attention(q, k, v, causal=True)
    if not torch.isfinite(got).all():
        raise AssertionError(f"causal attention returned NaN in rows {torch.where(~torch.isfinite(got).all(-1))[0].tolist()}: "
                             "a row whose every key is masked gives softmax 0/0. Query i must see key i itself (j <= i).")
    assert_close(got[0], v[0], atol=1e-12, what="output row 0 (causal)",
                 on="q, k, v of length 6: query 0 may only see key 0, so the output is v[0]")
    assert_close(got, oracle(q, k, v, True), **TOL[torch.float64], what="causal attention", on="6x6, d=4")


@settings(max_examples=40)
@given(lead=st.lists(st.integers(1, 3), max_size=2).map(tuple), lq=st.integers(1, 11), extra=st.integers(0, 9),
       d=st.sampled_from([1, 3, 8, 17]), dv=st.sampled_from([1, 5, 8]), causal=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]), custom_scale=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_matches_oracle(kata, lead, lq, extra, d, dv, causal, dtype, custom_scale, seed):
    mod = kata.module()
    lk = lq + extra
    q, k, v = qkv(lead, lq, lk, d, dv, dtype, seed)
    before = [t.clone() for t in (q, k, v)]
    scale = 0.37 if custom_scale else None
    got = mod.attention(q, k, v, causal=causal, scale=scale) if custom_scale else mod.attention(q, k, v, causal=causal)
    on = (f"{str(dtype)[6:]} q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}, causal={causal}, "
          f"scale={scale} (seed {seed})")
    if not isinstance(got, torch.Tensor) or got.dtype != dtype:
        raise AssertionError(f"attention on {on}: expected a {dtype} tensor, got {getattr(got, 'dtype', type(got))}")
    try:
        assert_close(got, oracle(q, k, v, causal, scale), **TOL[dtype], what="attention", on=on)
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {diagnose(mod, q, k, v, causal, got) if scale is None else ''}") from None
    for b, t, n in zip(before, (q, k, v), "qkv"):
        assert torch.equal(b, t), f"attention modified its input {n} in place: inputs are read-only"


@pytest.mark.parametrize("mag", [30.0, 300.0])
def test_large_logits(kata, mag):
    # q and k of size 30-300: logits in the thousands. A softmax without max-subtraction gives NaN.
    mod = kata.module()
    q, k, v = qkv((2,), 7, 9, 5, 3, torch.float32, 3, mag=1.0)
    q, k = q * mag, k * mag
    got = mod.attention(q, k, v, causal=True)
    if not torch.isfinite(got).all():
        raise AssertionError(f"attention with logits up to {float((q @ k.transpose(-1, -2)).abs().max() / math.sqrt(5)):.3g} "
                             "returned NaN/inf: exp overflowed. Subtract each row's maximum score before exp.")
    assert_close(got, oracle(q, k, v, True), atol=1e-4, rtol=1e-4, what="attention",
                 on=f"float32 q, k scaled by {mag:g} (huge logits), causal")
