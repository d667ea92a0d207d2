"""KV cache: append semantics, prefill and decode logits equal to a full recomputation (float64), chunked
prefill (a causal mask with Lq < Lk), greedy generation, and two counts: positions projected (linear in
the sequence, not quadratic) and no reallocation of the cache. The learner's code runs on a TinyLM built from the same seed beside it
(support/probes.py, which also reads the storage append returns); the oracle is the test's own TinyLM."""
import math

import pytest
import torch

from kata.testing import assert_close, assert_equal
from kata.toolkit import support_module

T64 = dict(atol=1e-10, rtol=1e-9)


TinyLM = support_module(__file__).TinyLM  # the class the probe builds beside the learner's code


def tokens(B, T, seed, vocab=13):
    return torch.randint(0, vocab, (B, T), generator=torch.Generator().manual_seed(seed))


def diagnose(model, toks, got, start) -> str:
    """Compare `got` (logits for toks[:, start:]) with classic mistakes."""
    T = toks.shape[1]
    with torch.no_grad():
        x = model.embed(toks[:, start:], torch.arange(T - start))
        full_x = model.embed(toks, torch.arange(T))
        q, k, v = model.qkv(torch.cat([full_x[:, :start], x], 1))
        s = q @ k.transpose(-2, -1) / math.sqrt(model.head_dim)
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        wrong_pos = model.output(torch.cat([full_x[:, :start], x], 1), torch.softmax(s, -1) @ v)[:, start:]
    if start > 0 and torch.allclose(got, wrong_pos, atol=1e-8):
        return ("Diagnosis: these are the logits of tokens embedded at positions 0..T-1. A step that continues a cache "
                "of length L embeds its tokens at positions L..L+T-1.")
    return ("Check, in order: positions (cache.length + arange(T)), that k and v are appended BEFORE attending (a "
            "token attends to itself), and the causal mask: query i (absolute position p_i) sees keys j <= p_i.")


def test_append(kata):
    mod = kata.module()
    g = torch.Generator().manual_seed(1)
    cache = mod.KVCache(2, 3, 10, 4, dtype=torch.float64)
    assert cache.length == 0, f"a new cache must have length 0, got {cache.length}"
    ks, vs = [], []
    for t in [3, 1, 1, 4]:
        k = torch.randn(2, 3, t, 4, generator=g, dtype=torch.float64)
        v = torch.randn(2, 3, t, 4, generator=g, dtype=torch.float64)
        ks.append(k)
        vs.append(v)
        k_all, v_all = cache.append(k, v)
        n = sum(x.shape[2] for x in ks)
        assert cache.length == n, f"after appending {[x.shape[2] for x in ks]} positions, length is {cache.length}, expected {n}"
        assert_equal(k_all, torch.cat(ks, 2), what="k_all returned by append", on=f"appends of {[x.shape[2] for x in ks]}")
        assert_equal(v_all, torch.cat(vs, 2), what="v_all returned by append", on=f"appends of {[x.shape[2] for x in ks]}")
    with pytest.raises(ValueError):
        cache.append(torch.zeros(2, 3, 2, 4, dtype=torch.float64), torch.zeros(2, 3, 2, 4, dtype=torch.float64))


def test_prefill_equals_full_forward(kata):
    model = TinyLM(seed=2)
    toks = tokens(2, 9, 3)
    (got,), _ = kata.probe("probes.py").forward_steps(kata.module(), 2, toks, [9], 32)
    want = model.forward(toks)
    try:
        assert_close(got, want, **T64, what="prefill logits", on="B=2, 9 prompt tokens, one forward_step")
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {diagnose(model, toks, got, 0)}") from None


def test_decode_steps_equal_full_forward(kata):
    model = TinyLM(seed=4)
    toks = tokens(3, 14, 5)
    steps, length = kata.probe("probes.py").forward_steps(kata.module(), 4, toks, [5] + [1] * 9, 20)
    want = model.forward(toks)
    for t, got in zip(range(5, 14), steps[1:]):
        try:
            assert_close(got[:, 0], want[:, t], **T64, what=f"decode logits at position {t}",
                         on="prefill of 5 tokens, then one token per step (B=3)")
        except AssertionError as e:
            raise AssertionError(f"{e}\n  {diagnose(model, toks[:, :t + 1], got, t)}") from None
    assert length == 14, f"after 5 + 9 tokens the cache length is {length}, expected 14"


@pytest.mark.parametrize("chunks", [(4, 4, 3), (1, 6, 2, 2), (2, 1, 1, 7)])
def test_chunked_prefill(kata, chunks):
    # A chunk of T > 1 tokens after a non-empty cache: the causal mask has Lq < Lk and must be aligned
    # to the absolute positions.
    model = TinyLM(seed=6)
    toks = tokens(2, sum(chunks), 7)
    steps, _ = kata.probe("probes.py").forward_steps(kata.module(), 6, toks, list(chunks), 24)
    want = model.forward(toks)
    start = 0
    for c, got in zip(chunks, steps):
        try:
            assert_close(got, want[:, start:start + c], **T64, what=f"logits of the chunk at positions {start}..{start + c - 1}",
                         on=f"a sequence fed in chunks of {list(chunks)}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n  {diagnose(model, toks[:, :start + c], got, start)}") from None
        start += c


def greedy_oracle(model, prompt, n_new):
    seq = prompt
    for _ in range(n_new):
        seq = torch.cat([seq, model.forward(seq)[:, -1].argmax(-1, keepdim=True)], 1)
    return seq


@pytest.mark.parametrize("B,T0,n", [(1, 1, 10), (3, 6, 12)])
def test_generate(kata, B, T0, n):
    model = TinyLM(seed=8 + B)
    prompt = tokens(B, T0, 9 + T0)
    got, _ = kata.probe("probes.py").generate(kata.module(), 8 + B, prompt, n, T0 + n)
    want = greedy_oracle(model, prompt, n)
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(want.shape), (
        f"generate returned {tuple(getattr(got, 'shape', ())) or type(got).__name__}, expected shape {tuple(want.shape)} "
        "(the prompt followed by n_new tokens)")
    assert_equal(got, want, what="generated tokens", on=f"greedy decoding, B={B}, prompt of {T0}, {n} new tokens")


# ------------------------------------------------------------------------- performance (counts)
# With a cache, each position's q, k, v are projected exactly once: generating n tokens after a prompt
# of T0 costs B*(T0 + n) projected rows (minus the last token, which is never fed back). Recomputing the
# whole sequence at every step costs B*(T0 + ... + T0+n) rows: O(n^2).


@pytest.mark.perf
def test_each_position_projected_once(kata):
    B, T0, n = 2, 8, 40
    _, rows = kata.probe("probes.py").generate(kata.module(), 10, tokens(B, T0, 11), n, T0 + n)  # TinyLM(seed=10)
    budget = B * (T0 + n)
    kata.record(rows_projected=rows, budget_rows=budget)
    assert rows <= budget, (
        f"generating {n} tokens after a {T0}-token prompt (B={B}) projected {rows:,} rows through "
        f"model.qkv; with a KV cache it is at most {budget} (each position once). Feed only the new token to each "
        "decode step and read the earlier keys and values from the cache.")


@pytest.mark.perf
def test_cache_is_never_reallocated(kata):
    # torch.cat on every step copies the whole cache: O(n^2) bytes over a generation, and memory that
    # fragments. A preallocated buffer written in place returns views of the same storage every time.
    # the storages of what 30 appends returned, seen beside the learner's cache (support/probes.py)
    ptrs = set(kata.probe("probes.py").append_storages(kata.module(), 2, 3, 40, 4, 30))
    kata.record(distinct_storages=len(ptrs))
    assert len(ptrs) == 1, (
        f"over 30 appends, the returned K/V lived in {len(ptrs)} different storages: the cache is reallocated "
        "(torch.cat or a new tensor) on every append, copying everything so far. Allocate (B, H, max_len, dh) "
        "buffers in __init__, write into them with slice assignment, and return slices [:, :, :length].")
