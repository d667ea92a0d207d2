"""What the accumulation tests do beside the learner's code: build the test's model (and optimizer) there
from the same seed (modules, optimizers and autograd graphs cannot cross), run accumulate_gradients /
train_step on the batch the test gives, and return what came out (loss, gradients, parameters, the
largest batch the model saw) for the test to judge. Under `kata grade` this file runs in the learner's
process (kata.probe); the checks do not."""
import torch
from torch import nn
from torch.nn import functional as F

IGNORE = -100


class Tagger(nn.Module):
    """The test's model: Embedding -> tanh MLP -> per-token logits; counts the largest batch it is given."""

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


def _grads(model):
    return {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}


def accumulate(mod, seed, xs, ys, micro, prefill=None):
    """Tagger(seed=seed), every .grad first filled with `prefill` when given; then
    accumulate_gradients(model, loss_sum, xs, ys, micro). Returns a dict: loss (what it returned,
    detached if a tensor), grads ({name: .grad or None}), max_rows (the largest batch the model ran on)."""
    model = Tagger(seed=seed)
    if prefill is not None:
        for p in model.parameters():
            p.grad = torch.full_like(p, prefill)
    loss = mod.accumulate_gradients(model, loss_sum, xs, ys, micro)
    if isinstance(loss, torch.Tensor):
        loss = loss.detach()
    return dict(loss=loss, grads=_grads(model), max_rows=model.max_rows)


def train(mod, seed, xs, ys, micro, opt_name, opt_kwargs, steps, stale):
    """Tagger(seed=seed) and torch.optim.<opt_name>(its parameters, **opt_kwargs); `steps` times: every
    .grad set to `stale`, then train_step(model, opt, loss_sum, xs, ys, micro). Returns (the parameters
    {name: tensor} after each completed step, (type, message) of what a step raised or None)."""
    model = Tagger(seed=seed)
    opt = getattr(torch.optim, opt_name)(model.parameters(), **opt_kwargs)
    out = []
    for _ in range(steps):
        for p in model.parameters():
            p.grad = torch.full_like(p, stale)
        try:
            mod.train_step(model, opt, loss_sum, xs, ys, micro)
        except Exception as e:
            return out, (type(e).__name__, str(e))
        out.append({n: p.detach().clone() for n, p in model.named_parameters()})
    return out, None
