"""Tiled matmul in Triton: C = A @ B, one (BLOCK_M x BLOCK_N) tile of C per program, programs in
grouped order, block sizes chosen by autotuning (or given explicitly).

Write tile_coords, matmul_kernel, CONFIGS and matmul(a, b, config).
Test with:  python -m pytest katas/12_triton/13_tiled_matmul
"""
import torch
import triton
import triton.language as tl

# The autotuner's candidates: triton.Config({"BLOCK_M": ..., "BLOCK_N": ..., "BLOCK_K": ..., "GROUP_M": ...},
# num_warps=..., num_stages=...). Used on a GPU only (the interpreter cannot benchmark).
CONFIGS = []


@triton.jit
def tile_coords(pid, num_pid_m, num_pid_n, GROUP_M: tl.constexpr):
    """(pid_m, pid_n) of the C tile that program `pid` computes, in grouped order: GROUP_M rows of
    tiles at a time, walked column by column."""
    pass


@triton.jit
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
                  stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr):
    """One program: C[tile] = sum over k-blocks of A[rows, k-block] @ B[k-block, cols], in fp32."""
    pass


def matmul(a: torch.Tensor, b: torch.Tensor, config: dict | None = None) -> torch.Tensor:
    """A (M, K) @ B (K, N) as a new (M, N) tensor of their dtype.

    config, when given, is a dict with BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M (and optionally num_warps,
    num_stages): launch matmul_kernel with exactly that. Otherwise autotune over CONFIGS."""
    raise NotImplementedError("matmul.py: matmul()")
