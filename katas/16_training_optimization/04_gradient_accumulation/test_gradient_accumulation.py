"""Gradient accumulation: gradients equal to the large batch's (float64) for micro-batch sizes that do
and do not divide the batch, with padding that makes micro-batches hold different numbers of tokens;
accumulation on top of existing gradients; a full optimizer step; then a count of the rows per forward."""
import pytest
import torch

from kata.testing import assert_close
from kata.toolkit import support_module

T64 = dict(atol=1e-12, rtol=1e-9)
IGNORE = -100


# The model and loss the probe builds beside the learner's code (support/probes.py), for the oracle here.
Tagger, loss_sum = support_module(__file__).Tagger, support_module(__file__).loss_sum


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


def check_grads(got, want, on):
    """got: {parameter name: its .grad (None where none)} after the learner's accumulate_gradients."""
    for n, g in got.items():
        if g is None:
            raise AssertionError(f"{on}: parameter {n} has no gradient after accumulate_gradients")
        try:
            assert_close(g, want[n], **T64, what=f"gradient of {n}", on=on)
        except AssertionError as e:
            ratio = (g.norm() / want[n].norm()).item() if want[n].norm() > 0 else float("nan")
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
    # accumulate_gradients(Tagger(seed=n), loss_sum, xs, ys, micro), in the probe
    got = kata.probe("probes.py").accumulate(mod, n, xs, ys, micro)
    got_loss = got["loss"]
    on = (f"batch of {n} rows x 6 positions with {(ys != IGNORE).sum(1).tolist()} real tokens per row, "
          f"micro_batch_size {micro}")
    check_grads(got["grads"], want, on)
    assert abs(float(got_loss) - want_loss) <= 1e-9 * max(1.0, abs(want_loss)), (
        f"accumulate_gradients returned loss {got_loss!r}, expected {want_loss!r} (token mean over the whole batch) on {on}")


def test_adds_to_existing_gradients(kata):
    # Accumulation adds: whatever .grad held before stays (the caller decides when to zero).
    mod = kata.module()
    model = Tagger(seed=3)
    xs, ys = batch(6, 5, seed=4)
    _, want = reference_grads(model, xs, ys)
    # every .grad of Tagger(seed=3) filled with ones, then accumulate_gradients(.., micro 4), in the probe
    got = kata.probe("probes.py").accumulate(mod, 3, xs, ys, 4, prefill=1.0)
    check_grads(got["grads"], {n: g + 1 for n, g in want.items()}, "gradients pre-filled with ones (they must be added to)")


@pytest.mark.parametrize("opt_name", ["sgd", "adamw"])
def test_train_step(kata, opt_name):
    mod = kata.module()
    xs, ys = batch(9, 7, seed=5)
    ref = Tagger(seed=6)
    opt, kw = ("SGD", dict(lr=0.5, momentum=0.9)) if opt_name == "sgd" else ("AdamW", dict(lr=0.01))
    o_ref = getattr(torch.optim, opt)(ref.parameters(), **kw)
    # the same model and optimizer in the probe, 3 times: stale gradients of 3.0 (train_step must zero
    # them), then train_step(model, opt, loss_sum, xs, ys, 4)
    mine, err = kata.probe("probes.py").train(mod, 6, xs, ys, 4, opt, kw, 3, 3.0)
    for step in range(3):
        o_ref.zero_grad()
        (loss_sum(ref, xs, ys) / (ys != IGNORE).sum()).backward()
        o_ref.step()
        if step == len(mine):
            name, msg = err
            raise AssertionError(f"{opt_name}: train_step number {step + 1} raised {name}: {msg}")
        for (n, a), b in zip(mine[step].items(), ref.parameters()):
            assert_close(a, b, atol=1e-10, rtol=1e-8, what=f"parameter {n} after step {step + 1}",
                         on=f"{opt_name}, 9 rows, micro_batch_size 4 (stale gradients of 3.0 before each train_step)")


# ------------------------------------------------------------------------- performance (a count)
# The reason to accumulate: activation memory scales with the rows in one forward. The model records the
# largest batch it was given; it must not exceed micro_batch_size.


@pytest.mark.perf
def test_rows_per_forward(kata):
    mod = kata.module()
    xs, ys = batch(32, 5, seed=8)
    # accumulate_gradients(Tagger(seed=7), loss_sum, xs, ys, 5), in the probe
    max_rows = kata.probe("probes.py").accumulate(mod, 7, xs, ys, 5)["max_rows"]
    kata.record(max_rows_per_forward=max_rows, micro_batch_size=5)
    assert max_rows <= 5, (f"the model was run on {max_rows} rows at once; micro_batch_size is 5. Slice "
                                 "xs[start:start + micro_batch_size] and run one micro-batch at a time.")
