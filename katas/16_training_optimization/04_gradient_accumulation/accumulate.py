"""Gradient accumulation that reproduces the large-batch gradient exactly, token-weighted. See README.md."""
import torch  # noqa: F401

IGNORE = -100   # label of padding positions: not a token, contributes no loss


def accumulate_gradients(model, loss_sum_fn, xs, ys, micro_batch_size):
    """Add to every parameter's .grad the gradient of

        L = (sum of the token losses over the whole batch) / (number of tokens in the whole batch)

    where a token is an entry of ys that is not IGNORE, running the model on at most micro_batch_size
    rows of xs/ys at a time (the last micro-batch may be smaller). loss_sum_fn(model, x, y) returns the
    SUM of the token losses of rows x, y as a scalar tensor. Do not zero the gradients here.
    Returns L as a Python float."""
    raise NotImplementedError("accumulate.py: accumulate_gradients()")


def train_step(model, optimizer, loss_sum_fn, xs, ys, micro_batch_size):
    """One optimizer step on the whole batch: zero the gradients, accumulate, step. Returns L."""
    raise NotImplementedError("accumulate.py: train_step()")
