"""Paged attention: writes land in the right (block, slot), reads follow the block table, NaN in unused
blocks and slots never leaks, and a count of the K/V elements read (only the blocks in use)."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close
from kata.toolkit import OpCensus

T64 = dict(atol=1e-12, rtol=1e-10)


def build(lens, bs, H, d, seed, extra_blocks=3, dtype=torch.float64):
    """Contiguous K/V per sequence, scattered into a NaN-poisoned pool through a shuffled block table.
    Unused table entries point at other sequences' blocks or at poison blocks."""
    g = torch.Generator().manual_seed(seed)
    B = len(lens)
    need = [-(-n // bs) for n in lens]
    max_blocks = max(need) + 1
    num_blocks = sum(need) + extra_blocks
    perm = torch.randperm(num_blocks, generator=g)
    kp = torch.full((num_blocks, bs, H, d), float("nan"), dtype=dtype)
    vp = torch.full((num_blocks, bs, H, d), float("nan"), dtype=dtype)
    table = torch.empty(B, max_blocks, dtype=torch.long)
    ks, vs, used = [], [], 0
    for b, n in enumerate(lens):
        k = torch.randn(n, H, d, generator=g, dtype=torch.float64).to(dtype)
        v = torch.randn(n, H, d, generator=g, dtype=torch.float64).to(dtype)
        ks.append(k)
        vs.append(v)
        for i in range(need[b]):
            phys = int(perm[used])
            used += 1
            table[b, i] = phys
            m = min(bs, n - i * bs)
            kp[phys, :m] = k[i * bs:i * bs + m]
            vp[phys, :m] = v[i * bs:i * bs + m]
        for i in range(need[b], max_blocks):  # garbage: someone else's block or a poison block
            table[b, i] = int(perm[torch.randint(0, num_blocks, (1,), generator=g)])
    q = torch.randn(B, H, d, generator=g, dtype=torch.float64).to(dtype)
    return q, kp, vp, table, torch.tensor(lens), ks, vs


def oracle(q, ks, vs):
    outs = []
    for b in range(q.shape[0]):
        s = torch.einsum("hd,nhd->hn", q[b].double(), ks[b].double()) / math.sqrt(q.shape[-1])
        outs.append(torch.einsum("hn,nhd->hd", torch.softmax(s, -1), vs[b].double()))
    return torch.stack(outs)


def check(mod, lens, bs, H, d, seed, dtype=torch.float64):
    q, kp, vp, table, seq_lens, ks, vs = build(lens, bs, H, d, seed, dtype=dtype)
    kp0, table0 = kp.clone(), table.clone()
    got = mod.paged_attention(q, kp, vp, table, seq_lens)
    on = f"sequence lengths {lens}, block_size {bs}, H={H}, d={d}, block table {table.tolist()} (seed {seed})"
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (len(lens), H, d):
        raise AssertionError(f"paged_attention on {on}: expected a ({len(lens)}, {H}, {d}) tensor, got "
                             f"{tuple(getattr(got, 'shape', ())) or type(got).__name__}")
    if torch.isnan(got).any():
        bad = sorted({int(i) for i in torch.where(torch.isnan(got))[0]})
        raise AssertionError(
            f"paged_attention returned NaN for sequences {bad} on {on}. NaN sits only in slots and blocks a sequence "
            "does not use: they leaked in. Masking a score to -inf is not enough when the value is NaN "
            "(exp(-inf) * NaN = 0 * NaN = NaN): read only the first seq_len positions, or zero the unused values too.")
    try:
        assert_close(got, oracle(q, ks, vs), **({"atol": 2e-5, "rtol": 2e-5} if dtype == torch.float32 else T64),
                     what="paged_attention", on=on)
    except AssertionError as e:
        raise AssertionError(f"{e}\n  Position p of sequence b lives in block block_table[b, p // block_size], slot "
                             "p % block_size; the physical blocks are shuffled, so the table must be followed.") from None
    assert torch.equal(table, table0), "paged_attention modified the block table"
    assert torch.equal(kp.nan_to_num(7.0), kp0.nan_to_num(7.0)), "paged_attention modified k_pages"


def test_single_sequence_one_block(kata):
    check(kata.module(), [3], 4, 2, 5, 0)


@pytest.mark.parametrize("lens,bs", [([5, 1, 12], 4), ([16, 16], 16), ([7, 30, 2, 9], 5), ([1], 1)])
def test_batches(kata, lens, bs):
    check(kata.module(), lens, bs, 3, 6, sum(lens) + bs)


@settings(max_examples=30)
@given(lens=st.lists(st.integers(1, 40), min_size=1, max_size=5), bs=st.sampled_from([1, 3, 4, 7, 16]),
       H=st.integers(1, 3), d=st.sampled_from([2, 5, 8]), dtype=st.sampled_from([torch.float32, torch.float64]),
       seed=st.integers(0, 2**31 - 1))
def test_any_layout(kata, lens, bs, H, d, dtype, seed):
    check(kata.module(), lens, bs, H, d, seed, dtype)


def test_write_kv(kata):
    mod = kata.module()
    bs, H, d = 4, 2, 3
    kp = torch.full((9, bs, H, d), float("nan"), dtype=torch.float64)
    vp = kp.clone()
    table = torch.tensor([[7, 2, 5], [0, 8, 3]])
    positions = torch.tensor([6, 9])            # seq 0: block 1 -> physical 2, slot 2; seq 1: block 2 -> 3, slot 1
    k = torch.arange(2 * H * d, dtype=torch.float64).view(2, H, d)
    v = -k
    mod.write_kv(kp, vp, table, positions, k, v)
    written = sorted({(int(a), int(b)) for a, b in zip(*torch.where(~torch.isnan(kp).any(-1).any(-1)))})
    assert written == [(2, 2), (3, 1)], (
        f"write_kv wrote (block, slot) {written}; expected [(2, 2), (3, 1)]: position 6 of sequence 0 is logical "
        "block 6 // 4 = 1 -> physical block_table[0, 1] = 2, slot 6 % 4 = 2; position 9 of sequence 1 is logical "
        "block 2 -> physical 3, slot 1.")
    assert torch.equal(kp[2, 2], k[0]) and torch.equal(kp[3, 1], k[1]), "write_kv put the wrong sequence's k in a slot"
    assert torch.equal(vp[2, 2], v[0]) and torch.equal(vp[3, 1], v[1]), "write_kv: v was not written like k"


def test_decode_loop(kata):
    # Append tokens one at a time with write_kv, attending after each: the way a server uses both.
    mod = kata.module()
    g = torch.Generator().manual_seed(3)
    bs, H, d, B, steps = 3, 2, 4, 2, 10
    kp = torch.full((12, bs, H, d), float("nan"), dtype=torch.float64)
    vp = kp.clone()
    table = torch.tensor([[4, 9, 1, 7], [11, 0, 6, 2]])
    start = torch.tensor([0, 2])
    ks, vs = [[], []], [[], []]
    for b in range(B):  # sequence 1 starts with two tokens already cached
        for p in range(int(start[b])):
            k = torch.randn(H, d, generator=g, dtype=torch.float64)
            v = torch.randn(H, d, generator=g, dtype=torch.float64)
            kp[table[b, p // bs], p % bs], vp[table[b, p // bs], p % bs] = k, v
            ks[b].append(k)
            vs[b].append(v)
    for t in range(steps):
        k = torch.randn(B, H, d, generator=g, dtype=torch.float64)
        v = torch.randn(B, H, d, generator=g, dtype=torch.float64)
        q = torch.randn(B, H, d, generator=g, dtype=torch.float64)
        mod.write_kv(kp, vp, table, start + t, k, v)
        for b in range(B):
            ks[b].append(k[b])
            vs[b].append(v[b])
        got = mod.paged_attention(q, kp, vp, table, start + t + 1)
        want = oracle(q, [torch.stack(x) for x in ks], [torch.stack(x) for x in vs])
        assert_close(got, want, **T64, what=f"paged_attention after decode step {t}",
                     on=f"write_kv then paged_attention, block_size {bs}, lengths {(start + t + 1).tolist()}")


# ------------------------------------------------------------------------- performance (a count)
# Decoding is bound by reading the cache. A dispatch mode counts the K/V elements your code reads from
# the pools: for a gather (index, index_select, ...) the elements it returns, for any other op the
# elements of the pool view it reads. Budget: the blocks each sequence uses, ceil(len / bs) * bs slots,
# for K and V. Gathering whole table rows reads max_blocks * bs slots for every sequence.

@pytest.mark.perf
def test_reads_only_used_blocks(kata):
    mod = kata.module()
    lens, bs, H, d = [5, 70, 3, 33], 8, 2, 16
    q, kp, vp, table, seq_lens, ks, vs = build(lens, bs, H, d, 4, extra_blocks=20, dtype=torch.float32)
    with OpCensus(watch=[kp, vp]) as pr:
        mod.paged_attention(q, kp, vp, table, seq_lens)
    budget = 2 * sum(-(-n // bs) * bs for n in lens) * H * d
    kata.record(kv_elements_read=pr.read, budget_elements=budget)
    assert 0 < pr.read <= budget, (
        f"paged_attention read {pr.read:,} K/V elements from the pools; budget {budget:,} (for K and V, the "
        f"ceil(len / {bs}) blocks each sequence uses, lengths {lens}). " +
        ("Nothing was read from k_pages/v_pages at all?" if pr.read == 0 else
         f"The whole pool is {2 * kp.numel():,}; every table row in full is {2 * table.numel() * bs * H * d:,}. "
         "Gather only block_table[b, :ceil(seq_lens[b] / block_size)] for sequence b."))
