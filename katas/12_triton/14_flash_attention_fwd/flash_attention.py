"""Flash attention forward in Triton: O = softmax(scale * Q K^T [+ causal mask]) V without ever writing
the N x N score matrix to memory.

Write attn_fwd_kernel and attention(q, k, v, causal, sm_scale, block_m, block_n).
Test with:  python -m pytest katas/12_triton/14_flash_attention_fwd
"""
import torch
import triton
import triton.language as tl


@triton.jit
def attn_fwd_kernel(q_ptr, k_ptr, v_ptr, o_ptr, sm_scale, N, H,
                    stride_qb, stride_qh, stride_qn, stride_qd,
                    stride_kb, stride_kh, stride_kn, stride_kd,
                    stride_vb, stride_vh, stride_vn, stride_vd,
                    stride_ob, stride_oh, stride_on, stride_od,
                    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
    """Program (pid_m, batch*head): BLOCK_M query rows of one head against all (or, causal, the earlier) keys."""
    # Load the Q block once. For each block of BLOCK_N keys: scores = Q K^T * scale (masked), update the
    # running row max m and row sum l, rescale the accumulator, add P V. Divide by l and store.
    pass


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
              sm_scale: float | None = None, block_m: int | None = None, block_n: int | None = None) -> torch.Tensor:
    """softmax(q k^T * sm_scale, masked causally if asked) v for q, k, v of shape (B, H, N, head_dim).

    sm_scale defaults to 1/sqrt(head_dim). block_m/block_n (powers of two >= 16), when given, are the
    query and key block sizes; otherwise choose (or autotune on a GPU)."""
    raise NotImplementedError("flash_attention.py: attention()")
