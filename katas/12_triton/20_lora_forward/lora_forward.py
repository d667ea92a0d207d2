"""LoRA forward in Triton: the base matmul and the low-rank update in one kernel.

lora_forward(x, W, A, B, alpha) -> y = x @ W.T + (alpha / r) * (x @ A.T) @ B.T
    x (M, K), W (N, K), A (r, K), B (N, r)
Test with:  python -m pytest katas/12_triton/20_lora_forward
"""
import torch
import triton
import triton.language as tl


@triton.jit
def lora_kernel(x_ptr, w_ptr, a_ptr, b_ptr, y_ptr, M, N, K, R, scale,
                stride_xm, stride_xk, stride_wn, stride_wk, stride_ar, stride_ak, stride_bn, stride_br,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_R: tl.constexpr):
    """One program computes a BLOCK_M x BLOCK_N tile of y: base and low-rank path in the same K loop."""
    pass


def lora_forward(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    """All of one dtype (float32, float16; bfloat16 on a GPU), any strides; returns y (M, N) contiguous."""
    raise NotImplementedError("lora_forward.py: lora_forward()")
