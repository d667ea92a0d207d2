"""Cross-entropy over a large vocabulary in Triton: per-row losses, and the gradient written in place.

cross_entropy(logits, targets, ignore_index=-100, grad_scale=1.0) -> losses (N,) float32
    losses[i] = logsumexp(logits[i]) - logits[i, targets[i]]      (0 where targets[i] == ignore_index)
    and, in place, logits[i] := grad_scale * (softmax(logits[i]) - onehot(targets[i]))   (0 if ignored)
Test with:  python -m pytest katas/12_triton/17_cross_entropy
"""
import torch
import triton
import triton.language as tl


@triton.jit
def cross_entropy_kernel(logits_ptr, targets_ptr, losses_ptr, V, stride_row, ignore_index, grad_scale,
                         BLOCK: tl.constexpr):
    """One program per row: a first pass over the vocabulary in chunks of BLOCK for the running max
    and sum of exponentials, then a second pass that overwrites the row with its gradient."""
    pass


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100,
                  grad_scale: float = 1.0) -> torch.Tensor:
    """logits (N, V) float32/float16 (bfloat16 on a GPU) with logits.stride(1) == 1, any row stride;
    targets (N,) int64. Returns the float32 losses; logits then holds the gradient."""
    raise NotImplementedError("cross_entropy.py: cross_entropy()")
