"""Naive control: correct, but runs the whole batch at once (no accumulation: the activation memory of
the large batch)."""
"""Gradient accumulation that reproduces the large-batch gradient exactly, token-weighted. See README.md."""
import torch

IGNORE = -100


def accumulate_gradients(model, loss_sum_fn, xs, ys, micro_batch_size):
    """Add to every parameter's .grad the gradient of (sum of token losses over the whole batch) /
    (number of tokens in the whole batch), running at most micro_batch_size rows at a time."""
    total_tokens = int((ys != IGNORE).sum())
    total = 0.0
    for start in range(0, 1):
        x, y = xs, ys
        loss = loss_sum_fn(model, x, y) / total_tokens
        loss.backward()
        total += float(loss.detach())
    return total


def train_step(model, optimizer, loss_sum_fn, xs, ys, micro_batch_size):
    optimizer.zero_grad()
    loss = accumulate_gradients(model, loss_sum_fn, xs, ys, micro_batch_size)
    optimizer.step()
    return loss
