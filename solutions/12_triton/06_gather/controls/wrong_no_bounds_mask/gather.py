"""Embedding lookup in Triton: out[t] = table[ids[t]], zeros for ids outside the table  (wrong control).

No bounds mask on the ids: an id outside [0, V) reads whatever row of memory it points at (here the
rows around the table) instead of giving zeros; a wild id reads far away or crashes."""
import torch
import triton
import triton.language as tl

BLOCK_T, BLOCK_D = 16, 64


@triton.jit
def embedding_kernel(table_ptr, ids_ptr, out_ptr, T, V, D, stride_v, stride_d,
                     BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr):
    """Program (pid_t, pid_d) fills out[tokens, cols] for BLOCK_T tokens and BLOCK_D columns."""
    tokens = tl.program_id(0) * BLOCK_T + tl.arange(0, BLOCK_T)
    cols = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    in_t, in_d = tokens < T, cols < D
    ids = tl.load(ids_ptr + tokens, mask=in_t, other=0).to(tl.int64)   # int64: ids * stride can be large
    valid = in_t
    rows = tl.load(table_ptr + ids[:, None] * stride_v + cols[None, :] * stride_d,
                   mask=valid[:, None] & in_d[None, :], other=0.0)
    tl.store(out_ptr + tokens[:, None] * D + cols[None, :], rows, mask=in_t[:, None] & in_d[None, :])


def embedding(table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """A new (len(ids), D) tensor: row ids[t] of table, or zeros where ids[t] is not in [0, V)."""
    if table.dim() != 2 or ids.dim() != 1 or ids.dtype not in (torch.int32, torch.int64):
        raise ValueError(f"embedding: need a 2-D table and 1-D int32/int64 ids, got {tuple(table.shape)} and "
                         f"{tuple(ids.shape)} {ids.dtype}")
    V, D = table.shape
    ids = ids.contiguous()
    T = ids.numel()
    out = torch.empty((T, D), dtype=table.dtype, device=table.device)
    if T and D:
        grid = (triton.cdiv(T, BLOCK_T), triton.cdiv(D, BLOCK_D))
        embedding_kernel[grid](table, ids, out, T, V, D, table.stride(0), table.stride(1),
                               BLOCK_T=BLOCK_T, BLOCK_D=BLOCK_D)
    return out
