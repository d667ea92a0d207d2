"""Gradient checkpointing: keep only a segment's inputs, recompute its activations in backward.
See README.md. Write it with torch.autograd.Function; torch.utils.checkpoint is not allowed."""
import torch  # noqa: F401


def checkpoint(fn, *args):
    """Return fn(*args) (fn returns one tensor; args are tensors), but let autograd keep only `args`
    for backward: run fn without recording in forward, and run it again, recording, in backward.
    Gradients must reach the args that require grad AND the parameters used inside fn (even when no
    arg requires grad), and random ops in fn (dropout) must draw the same numbers both times."""
    raise NotImplementedError("checkpoint.py: checkpoint()")


def checkpoint_sequential(layers, segments, x):
    """Run x through the list of modules `layers` in `segments` contiguous chunks, each through
    checkpoint(). Chunk sizes differ by at most one, larger chunks first (7 layers, 3 segments: 3, 2, 2)."""
    raise NotImplementedError("checkpoint.py: checkpoint_sequential()")
