"""SwiGLU in Triton: h = silu(gate) * up, and its backward.

swiglu_forward(gate, up)       -> h
swiglu_backward(dh, gate, up)  -> (dgate, dup)
Test with:  python -m pytest katas/12_triton/19_swiglu
"""
import torch
import triton
import triton.language as tl


@triton.jit
def swiglu_fwd_kernel(g_ptr, u_ptr, h_ptr, N, stride_gm, stride_gn, stride_um, stride_un,
                      BLOCK: tl.constexpr):
    """Program (row, block of columns): h = g * sigmoid(g) * u, computed in float32."""
    pass


@triton.jit
def swiglu_bwd_kernel(dh_ptr, g_ptr, u_ptr, dg_ptr, du_ptr, N, stride_dm, stride_dn, stride_gm, stride_gn,
                      stride_um, stride_un, BLOCK: tl.constexpr):
    """Program (row, block of columns): du = dh * silu(g); dg = dh * u * silu'(g)."""
    pass


def swiglu_forward(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """gate, up (M, N), same dtype, any strides -> h (M, N) contiguous, their dtype."""
    raise NotImplementedError("swiglu.py: swiglu_forward()")


def swiglu_backward(dh: torch.Tensor, gate: torch.Tensor, up: torch.Tensor):
    """dh, gate, up (M, N), any strides -> (dgate, dup), contiguous, their dtype."""
    raise NotImplementedError("swiglu.py: swiglu_backward()")
