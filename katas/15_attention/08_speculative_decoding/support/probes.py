"""What the speculative-decoding tests do beside the learner's code: hold the torch.Generator its calls
share, and build the Markov models (the same class as the test's) from seeds. Each function returns
data (the tokens each call returned, call counts) for the test to judge; under `kata grade` this file
runs in the learner's process (kata.probe), the checks do not."""
import torch


class Markov:
    """Next-token distribution depends on the last two tokens; counts its calls."""

    def __init__(self, V, seed, temp=1.0, base=None, mix=0.0):
        g = torch.Generator().manual_seed(seed)
        logits = torch.randn(V, V, V, generator=g, dtype=torch.float64) * temp
        if base is not None:
            logits = mix * base.logits + (1 - mix) * logits
        self.V, self.logits, self.calls = V, logits, 0

    def dist(self, a, b):
        return torch.softmax(self.logits[a, b], -1)

    def __call__(self, tokens):
        self.calls += 1
        t = torch.as_tensor(tokens, dtype=torch.long)
        prev = torch.cat([t.new_zeros(1), t[:-1]])
        return torch.softmax(self.logits[prev, t], -1)


def verify_calls(mod, seed, calls):
    """One generator seeded with `seed`, then verify(p, q, drafts, g) for each (p, q, drafts) in
    `calls`. Returns what each call returned."""
    g = torch.Generator().manual_seed(seed)
    return [mod.verify(p, q, drafts, g) for p, q, drafts in calls]


def one_position(mod, seed, p, q, rounds):
    """One generator seeded with `seed`; each round draws a draft token from q[0] with it, then calls
    verify(p, q, [that token], g). Returns the first token of each round's result."""
    g = torch.Generator().manual_seed(seed)
    return [mod.verify(p, q, [int(torch.multinomial(q[0], 1, generator=g))], g)[0] for _ in range(rounds)]


def generate(mod, V, target_seed, draft_seed, temp, mix, prefix, n_new, k, seed, rounds):
    """target = Markov(V, target_seed, temp); draft = Markov(V, draft_seed, temp), blended with the
    target by `mix` unless mix is None. One generator seeded with `seed`; `rounds` calls of
    speculative_generate(target, draft, prefix, n_new, k, g). Returns (their results, target.calls,
    draft.calls)."""
    target = Markov(V, seed=target_seed, temp=temp)
    draft = Markov(V, seed=draft_seed, temp=temp) if mix is None else \
        Markov(V, seed=draft_seed, temp=temp, base=target, mix=mix)
    g = torch.Generator().manual_seed(seed)
    out = [mod.speculative_generate(target, draft, prefix, n_new, k, g) for _ in range(rounds)]
    return out, target.calls, draft.calls
