"""Embedding lookup in Triton: out[t] = table[ids[t]], and zeros where ids[t] is outside the table.

Test with:  python -m pytest katas/12_triton/06_gather
"""
import torch
import triton
import triton.language as tl


@triton.jit
def embedding_kernel(table_ptr, ids_ptr, out_ptr, T, V, D, stride_v, stride_d,
                     BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr):
    """Program (pid_t, pid_d) fills out[tokens, cols] for BLOCK_T tokens and BLOCK_D columns."""
    # The addresses come from data (the ids). Which of them may be dereferenced?
    pass


def embedding(table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """A new (len(ids), D) tensor: row ids[t] of table, or zeros where ids[t] is not in [0, V)."""
    raise NotImplementedError("gather.py: embedding()")
