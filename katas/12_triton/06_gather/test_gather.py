"""Embedding lookup in Triton: a gather whose addresses come from data, with a bounds mask. Exact rows,
zeros for out-of-range ids (the memory around the table holds a sentinel), bytes moved counted."""
import pytest
import torch

from kata.testing import assert_equal
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bytes, expect

V = 50
SENTINEL = 1000.0  # the rows just before and just after the table hold this


def table_in_sentinels(D, dtype, device, seed):
    """A (V, D) table whose neighbours in memory are 3 sentinel rows before and 3 after (a view)."""
    g = torch.Generator().manual_seed(seed)
    buf = torch.full((V + 6, D), SENTINEL)
    buf[3:V + 3] = 4 * torch.randn((V, D), generator=g)
    return buf.to(dtype=dtype, device=device)[3:V + 3]


def ids_with_strays(T, dtype, device, seed):
    """Ids mostly in [0, V), and about one in five just outside: -3..-1 and V..V+2."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, V, (T,), generator=g)
    strays = torch.tensor([-1, V, -2, V + 1, -3, V + 2])
    pick = torch.randint(0, 5, (T,), generator=g) == 0
    ids[pick] = strays[torch.arange(int(pick.sum())) % 6]
    return ids.to(dtype=dtype, device=device)


def want_of(table, ids):
    t, i = table.cpu(), ids.cpu().long()
    ok = (i >= 0) & (i < V)
    out = torch.zeros((len(i), t.shape[1]), dtype=t.dtype)
    out[ok] = t[i[ok]]
    return out


def check(kata, table, ids, on):
    T, D = ids.numel(), table.shape[1]
    guard = forbid_torch_compute()  # the output comes back NaN-filled; the table and the ids stay as they were
    out = call_checked(kata.module().embedding, table, ids, name="embedding()", on=on, within=[guard], guard=True,
                       returns=torch.Tensor, shape=(T, D), dtype=table.dtype, device=table.device)
    expect(T * D == 0 or guard.launches >= 1, f"embedding() on {on} launched no Triton kernel")
    want = want_of(table, ids)
    try:
        assert_equal(out, want, what="embedding(table, ids)", on=on)
    except AssertionError as e:
        hint = ""
        got = out.cpu()
        if (got == SENTINEL).any():
            rows = sorted({int(ids[t]) for t in (got == SENTINEL).any(dim=1).nonzero().flatten().tolist()})
            hint = (f"\n  rows for ids {rows[:6]} hold {SENTINEL:g}, the value in memory just outside the table: "
                    f"those ids are not in [0, {V}) and must give a row of zeros without reading the table "
                    "(mask the gather with 0 <= id < V)")
        raise AssertionError(str(e) + hint) from None


CASES = [(1, 1), (13, 7), (100, 64), (100, 65), (257, 200)]


@pytest.mark.parametrize("id_dtype", [torch.int64, torch.int32], ids=["int64", "int32"])
@pytest.mark.parametrize("T,D", CASES, ids=[f"T{t}-D{d}" for t, d in CASES])
def test_fp32(kata, device, T, D, id_dtype):
    table, ids = table_in_sentinels(D, torch.float32, device, seed=D), ids_with_strays(T, id_dtype, device, seed=T)
    check(kata, table, ids, on=f"a ({V}, {D}) fp32 table and {T} {str(id_dtype)[6:]} ids (some outside [0, {V}))")


def test_fp16(kata, device):
    table, ids = table_in_sentinels(65, torch.float16, device, 1), ids_with_strays(100, torch.int64, device, 2)
    check(kata, table, ids, on=f"a ({V}, 65) fp16 table and 100 int64 ids")


def test_all_out_of_range(kata, device):
    table = table_in_sentinels(33, torch.float32, device, 3)
    ids = torch.tensor([-1, V, -3, V + 2, -1], device=device)
    check(kata, table, ids, on=f"ids {ids.tolist()}, all outside [0, {V})")


def test_strided_table(kata, device):
    big = table_in_sentinels(130, torch.float32, device, 4)
    table = big[:, 1:130:2]  # (V, 65), column stride 2
    ids = ids_with_strays(77, torch.int64, device, 5)
    check(kata, table, ids, on=f"a table with strides {table.stride()} (every other column): pass its strides")


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
def test_bytes_moved(kata, device):
    T, D = 301, 96
    table, ids = table_in_sentinels(D, torch.float32, device, 7), ids_with_strays(T, torch.int64, device, 8)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        out = mod.embedding(table, ids)
    assert_equal(out, want_of(table, ids), what="embedding(table, ids)", on="the bytes-moved input")
    i = ids.long()
    n_valid = int(((i >= 0) & (i < V)).sum())
    need = T * 8 + n_valid * D * 4 + T * D * 4
    allowed = need + T * 8 * (-(-D // 16) - 1)  # ids may be loaded again per column block of >= 16
    check_bytes(kata, moved, need=need, gate=allowed,
                headline=f"embedding() of {T} ids into a ({V}, {D}) fp32 table moved {moved.total:,} bytes; the minimum "
                         f"is {need:,} (ids {T} x 8, {n_valid} valid rows x {D} x 4 read, {T} x {D} x 4 written), and "
                         f"the gate allows {allowed:,} (ids re-read per column block of 16 or more).",
                torch_hint="allocate with torch.empty and let the kernel write the zero rows too (other=0.0)",
                loaded=(need - T * D * 4 + (allowed - need), "the ids plus each valid row once",
                        f"the {T - n_valid} out-of-range ids should read nothing from the table, and the valid rows "
                        "once each"),
                stored=(T * D * 4, "writing each output element once", "write each once"))
