"""Flash attention backward in Triton: dQ, dK, dV from Q, K, V, O, dO and the forward's log-sum-exp,
recomputing the probabilities block by block instead of storing any N x N matrix.

Write the kernels you need (a suggestion below) and attention_backward(...), which launches them.
Test with:  python -m pytest katas/12_triton/15_flash_attention_bwd
"""
import torch
import triton
import triton.language as tl


@triton.jit
def bwd_preprocess_kernel(o_ptr, do_ptr, delta_ptr, N, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr):
    """delta[row] = sum over d of O[row, d] * dO[row, d], in fp32."""
    pass


@triton.jit
def bwd_dkdv_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr, sm_scale, N,
                    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
    """One block of BLOCK_N keys of one head: loop over query blocks, accumulate dK and dV."""
    pass


@triton.jit
def bwd_dq_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr, sm_scale, N,
                  HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
    """One block of BLOCK_M queries of one head: loop over key blocks, accumulate dQ."""
    pass


def attention_backward(q, k, v, o, do, lse, causal=False, sm_scale=None, block_m=None, block_n=None):
    """(dq, dk, dv) of O = softmax(sm_scale * Q K^T [causal]) V, for tensors of shape (B, H, N, head_dim)
    and lse (B, H, N) fp32, the natural log of each row's sum of exp(sm_scale * q.k) over visible keys."""
    raise NotImplementedError("flash_attention_bwd.py: attention_backward()")
