"""Gradient accumulation: gradients equal to the large batch's (float64) for micro-batch sizes that do
and do not divide the batch, with padding that makes micro-batches hold different numbers of tokens;
accumulation on top of existing gradients; a full optimizer step; then a count of the rows per forward."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from kata.testing import assert_close

T64 = dict(atol=1e-12, rtol=1e-9)
IGNORE = -100


class Tagger(nn.Module):
    """Embedding -> tanh MLP -> per-token logits; counts the largest batch it is given."""

    def __init__(self, vocab=17, dim=12, classes=5, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.emb = nn.Embedding(vocab, dim)
        self.hidden = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, classes)
        self.double()
        self.max_rows = 0

    def forward(self, x):
        self.max_rows = max(self.max_rows, x.shape[0])
        return self.out(torch.tanh(self.hidden(self.emb(x))))


def loss_sum(model, x, y):
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE, reduction="sum")


def batch(n, T, seed, ragged=True):
    g = torch.Generator().manual_seed(seed)
    xs = torch.randint(0, 17, (n, T), generator=g)
    ys = torch.randint(0, 5, (n, T), generator=g)
    if ragged:  # row i has a random number of real tokens (at least 1), the rest is padding
        lens = torch.randint(1, T + 1, (n,), generator=g)
        lens[0] = T
        lens[-1] = 1
        ys[torch.arange(T)[None, :] >= lens[:, None]] = IGNORE
    return xs, ys


def reference_grads(model, xs, ys):
    model.zero_grad()
    loss = loss_sum(model, xs, ys) / (ys != IGNORE).sum()
    loss.backward()
    g = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    return float(loss), g


def check_grads(model, want, on):
    for n, p in model.named_parameters():
        if p.grad is None:
            raise AssertionError(f"{on}: parameter {n} has no gradient after accumulate_gradients")
        try:
            assert_close(p.grad, want[n], **T64, what=f"gradient of {n}", on=on)
        except AssertionError as e:
            ratio = (p.grad.norm() / want[n].norm()).item() if want[n].norm() > 0 else float("nan")
            hint = (f"\n  Your gradient is {ratio:.3g}x the expected one in norm. " +
                    ("Divide every micro-batch's loss sum by the number of tokens in the WHOLE batch before backward."
                     if ratio > 1.5 else
                     "Only part of the batch seems to count: do not zero the gradients between micro-batches."
                     if ratio < 0.9 else
                     "A mean of per-micro-batch means weights a token in a short micro-batch more than one in a long "
                     "one: normalise by the whole batch's token count instead."))
            raise AssertionError(f"{e}{hint}") from None


@pytest.mark.parametrize("n,micro", [(8, 8), (8, 2), (10, 3), (7, 1), (5, 9)])
def test_gradients_equal_large_batch(kata, n, micro):
    mod = kata.module()
    model = Tagger(seed=n)
    xs, ys = batch(n, 6, seed=n * 10 + micro)
    want_loss, want = reference_grads(model, xs, ys)
    got_loss = mod.accumulate_gradients(model, loss_sum, xs, ys, micro)
    on = (f"batch of {n} rows x 6 positions with {(ys != IGNORE).sum(1).tolist()} real tokens per row, "
          f"micro_batch_size {micro}")
    check_grads(model, want, on)
    assert abs(float(got_loss) - want_loss) <= 1e-9 * max(1.0, abs(want_loss)), (
        f"accumulate_gradients returned loss {got_loss!r}, expected {want_loss!r} (token mean over the whole batch) on {on}")


def test_adds_to_existing_gradients(kata):
    # Accumulation adds: whatever .grad held before stays (the caller decides when to zero).
    mod = kata.module()
    model = Tagger(seed=3)
    xs, ys = batch(6, 5, seed=4)
    _, want = reference_grads(model, xs, ys)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    mod.accumulate_gradients(model, loss_sum, xs, ys, 4)
    check_grads(model, {n: g + 1 for n, g in want.items()}, "gradients pre-filled with ones (they must be added to)")


@pytest.mark.parametrize("opt_name", ["sgd", "adamw"])
def test_train_step(kata, opt_name):
    mod = kata.module()
    xs, ys = batch(9, 7, seed=5)
    ref, mine = Tagger(seed=6), Tagger(seed=6)
    make = (lambda m: torch.optim.SGD(m.parameters(), lr=0.5, momentum=0.9)) if opt_name == "sgd" else \
        (lambda m: torch.optim.AdamW(m.parameters(), lr=0.01))
    o_ref, o_mine = make(ref), make(mine)
    for step in range(3):
        o_ref.zero_grad()
        (loss_sum(ref, xs, ys) / (ys != IGNORE).sum()).backward()
        o_ref.step()
        for p in mine.parameters():  # stale gradients: train_step must zero them
            p.grad = torch.full_like(p, 3.0)
        mod.train_step(mine, o_mine, loss_sum, xs, ys, 4)
        for (n, a), b in zip(mine.named_parameters(), ref.parameters()):
            assert_close(a, b, atol=1e-10, rtol=1e-8, what=f"parameter {n} after step {step + 1}",
                         on=f"{opt_name}, 9 rows, micro_batch_size 4 (stale gradients of 3.0 before each train_step)")


# ------------------------------------------------------------------------- performance (a count)
# The reason to accumulate: activation memory scales with the rows in one forward. The model records the
# largest batch it was given; it must not exceed micro_batch_size.


@pytest.mark.perf
def test_rows_per_forward(kata):
    mod = kata.module()
    model = Tagger(seed=7)
    xs, ys = batch(32, 5, seed=8)
    mod.accumulate_gradients(model, loss_sum, xs, ys, 5)
    kata.record(max_rows_per_forward=model.max_rows, micro_batch_size=5)
    assert model.max_rows <= 5, (f"the model was run on {model.max_rows} rows at once; micro_batch_size is 5. Slice "
                                 "xs[start:start + micro_batch_size] and run one micro-batch at a time.")
