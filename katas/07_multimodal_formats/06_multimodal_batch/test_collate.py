"""Collation into preallocated buffers: the batch equals a padded reference built with pad_sequence
(values, padding, masks, lengths, shapes rounded up), across batches that shrink and grow (stale padding
shows); the outputs are views of the same buffers every call; inputs are left alone; a batch that does not
fit raises ValueError; and, in steady state, no tensor is allocated: every aten op is seen by a
TorchDispatchMode, and an output whose storage is new counts as an allocation (the mode, and the look at
the outputs' storage, run beside the learner's code: support/probes.py)."""
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.nn.utils.rnn import pad_sequence

from kata.testing import assert_unchanged
from kata.toolkit import describe, expect

KEYS = ["tokens", "text_mask", "text_lengths", "audio", "audio_mask", "audio_lengths"]
DTYPES = {"tokens": torch.int64, "text_mask": torch.bool, "text_lengths": torch.int64, "audio": torch.float32,
          "audio_mask": torch.bool, "audio_lengths": torch.int64}


def batch(text_lens, audio_lens, seed=0, token_dtype=torch.int32, strided=False):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n, m in zip(text_lens, audio_lens):
        t = torch.randint(1, 30000, (n,), generator=g).to(token_dtype)
        a = torch.randn(2 * m if strided else m, generator=g)
        out.append((t, a[::2] if strided else a))
    return out


def expected(samples, pad_id, multiple, caps):
    def up(n, cap):
        return min(-(-n // multiple) * multiple, cap)
    tl = [int(t.shape[0]) for t, _ in samples]
    al = [int(a.shape[0]) for _, a in samples]
    T, A = up(max(tl, default=0), caps[0]), up(max(al, default=0), caps[1])
    tokens = torch.full((len(samples), T), pad_id, dtype=torch.int64)
    audio = torch.zeros((len(samples), A))
    if samples:
        p = pad_sequence([t.long() for t, _ in samples], batch_first=True, padding_value=pad_id)
        tokens[:, :p.shape[1]] = p
        q = pad_sequence([a.float() for _, a in samples], batch_first=True)
        audio[:, :q.shape[1]] = q
    tl_t, al_t = torch.tensor(tl, dtype=torch.int64), torch.tensor(al, dtype=torch.int64)
    return {"tokens": tokens, "text_mask": torch.arange(T)[None] < tl_t[:, None], "text_lengths": tl_t,
            "audio": audio, "audio_mask": torch.arange(A)[None] < al_t[:, None], "audio_lengths": al_t}


def check(got, samples, pad_id, multiple, what, caps=(10**9, 10**9)):
    want = expected(samples, pad_id, multiple, caps)
    expect(isinstance(got, dict) and set(got) >= set(KEYS), f"{what}: returned {type(got).__name__} with keys "
                                                            f"{sorted(got) if isinstance(got, dict) else '-'}, expected {KEYS}")
    for k in KEYS:
        g, w = got[k], want[k]
        expect(isinstance(g, torch.Tensor) and g.dtype == w.dtype and tuple(g.shape) == tuple(w.shape),
               f"{what}: {k} is {describe(g)}, expected {describe(w)}")
        if not torch.equal(g, w):
            bad = (g != w).nonzero()[0].tolist()
            pytest.fail(f"{what}: {k}[{', '.join(map(str, bad))}] is {g[tuple(bad)].item()}, expected "
                        f"{w[tuple(bad)].item()} (lengths: text {want['text_lengths'].tolist()}, audio "
                        f"{want['audio_lengths'].tolist()})", pytrace=False)


def test_one_batch(kata):
    c = kata.module().Collator(4, 64, 400, pad_id=7)
    samples = batch([5, 17, 1], [100, 3, 250], 1)
    check(c(samples), samples, 7, 8, "a batch of 3 (text 5, 17, 1; audio 100, 3, 250)")


def test_shrinking_and_growing_batches(kata):
    """A long batch, then shorter ones: padding must not hold the previous batch's values."""
    c = kata.module().Collator(6, 80, 500, pad_id=0)
    for k, (tl, al) in enumerate([([70, 80, 64, 33, 1, 80], [500, 499, 20, 7, 300, 1]), ([3, 9], [16, 40]),
                                  ([0], [0]), ([41, 2, 3, 4, 5], [100, 200, 300, 400, 5]), ([1, 1, 1], [1, 1, 1])]):
        samples = batch(tl, al, k)
        check(c(samples), samples, 0, 8, f"batch {k} (text {tl}, audio {al}) after the batches before it", (80, 500))


def test_empty_batch(kata):
    c = kata.module().Collator(2, 16, 16)
    check(c([]), [], 0, 8, "an empty batch")


@settings(max_examples=40, deadline=None)
@given(lens=st.lists(st.tuples(st.integers(0, 48), st.integers(0, 300)), min_size=1, max_size=5),
       pad=st.integers(0, 3), multiple=st.sampled_from([1, 4, 8]), strided=st.booleans(),
       dtype=st.sampled_from([torch.int32, torch.int64, torch.int16]))
def test_any_batch(kata, lens, pad, multiple, strided, dtype):
    c = kata.module().Collator(5, 48, 304, pad_id=pad, multiple=multiple)
    first = batch([48] * 5, [300] * 5, 9)
    c(first)  # a full batch first: its values sit in the buffers
    samples = batch([t for t, _ in lens], [a for _, a in lens], 2, dtype, strided)
    snapshot = [(t.clone(), a.clone()) for t, a in samples]
    got = c(samples)
    check(got, samples, pad, multiple, f"a batch with lengths {lens} (multiple={multiple}, pad_id={pad}, "
                                       f"tokens {dtype}, audio {'strided' if strided else 'contiguous'})", (48, 304))
    for (t, a), (t0, a0) in zip(samples, snapshot):
        assert_unchanged(t0, t, what="a tokens input")
        assert_unchanged(a0, a, what="an audio input")


def test_outputs_are_views_of_the_same_buffers(kata):
    batches = [batch(tl, al, k) for k, (tl, al) in enumerate([([3, 30], [64, 1]), ([9], [9]), ([1, 2, 3, 4], [5, 6, 7, 8])])]
    seen = kata.probe("probes.py").storages(kata.module(), (4, 32, 64), {}, batches, KEYS)
    ptrs = None
    for k, now in enumerate(seen):
        expect(ptrs is None or now == ptrs, f"call {k}: the outputs live in other storage than the previous call's "
                                            f"({[key for key in KEYS if ptrs and now[key] != ptrs[key]]}): return views "
                                            "of the buffers allocated in __init__")
        ptrs = now


@pytest.mark.parametrize("case", ["too_many", "text_too_long", "audio_too_long"])
def test_a_batch_that_does_not_fit_raises(kata, case):
    c = kata.module().Collator(3, 16, 32)
    bad = {"too_many": batch([1] * 4, [1] * 4), "text_too_long": batch([4, 17], [4, 4]),
           "audio_too_long": batch([4, 4], [32, 33])}[case]
    try:
        c(bad)
    except ValueError:
        pass
    else:
        pytest.fail(f"Collator(3 samples, 16 tokens, 32 audio samples) accepted a batch with {case.replace('_', ' ')}: "
                    "raise ValueError (never truncate silently)", pytrace=False)
    good = batch([16, 2], [32, 3], 5)
    check(c(good), good, 0, 8, f"a batch after one with {case.replace('_', ' ')} was refused", (16, 32))


@pytest.mark.perf
def test_no_allocation_in_steady_state(kata):
    batches = [batch(*[list(x) for x in zip(*[(int(t), int(a)) for t, a in
                                               torch.randint(1, 120, (8, 2), generator=torch.Generator().manual_seed(s))
                                               * torch.tensor([1, 33])])], s) for s in range(12)]
    # ops that made a new tensor, seen by a TorchDispatchMode beside the Collator (support/probes.py)
    ops = kata.probe("probes.py").allocations(kata.module(), (8, 128, 4000), {"pad_id": 1}, batches[0], batches)
    per = len(ops) / len(batches)
    kata.record(allocations_per_batch=per)
    counts = {op: ops.count(op) for op in sorted(set(ops))}
    expect(not ops, f"{len(batches)} batches allocated {len(ops)} tensors ({per:.1f} per batch): {counts}. "
                    "Write into the preallocated buffers in place (fill_, copy_, slicing) instead of building "
                    "new tensors (pad_sequence, .long(), torch.arange(...) < lengths, torch.tensor(...)).")
