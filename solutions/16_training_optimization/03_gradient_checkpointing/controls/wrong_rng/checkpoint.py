"""Wrong control: does not restore the RNG state for the recompute, so dropout draws new masks."""
"""Gradient checkpointing: keep only a segment's inputs, recompute its activations in backward.
See README.md."""
import torch


class _Checkpoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, fn, _anchor, *args):
        ctx.fn = fn
        ctx.rng = torch.get_rng_state()               # dropout in the recompute must draw the same masks
        ctx.save_for_backward(*args)
        with torch.no_grad():
            return fn(*args)

    @staticmethod
    def backward(ctx, grad_out):
        args = [a.detach().requires_grad_(a.requires_grad) for a in ctx.saved_tensors]
        outer = torch.get_rng_state()
        try:
            with torch.enable_grad():
                out = ctx.fn(*args)
        finally:
            torch.set_rng_state(outer)
        torch.autograd.backward(out, grad_out)        # parameters inside fn accumulate their .grad here
        return (None, None, *[a.grad if a.requires_grad else None for a in args])


def checkpoint(fn, *args):
    """fn(*args) (one tensor out), saving only args for backward and recomputing fn there."""
    # An input that requires grad, so that autograd calls backward even when no arg does (the
    # parameters inside fn still need their gradients).
    anchor = torch.empty(0, requires_grad=True)
    return _Checkpoint.apply(fn, anchor, *args)


def checkpoint_sequential(layers, segments, x):
    """Run x through `layers` in `segments` contiguous chunks (sizes differing by at most one, larger
    first), each checkpointed."""
    n = len(layers)
    base, extra = divmod(n, segments)
    start = 0
    for s in range(segments):
        size = base + (1 if s < extra else 0)
        chunk = layers[start:start + size]
        start += size
        if not chunk:
            continue

        def run(h, chunk=chunk):
            for layer in chunk:
                h = layer(h)
            return h

        x = checkpoint(run, x)
    return x
