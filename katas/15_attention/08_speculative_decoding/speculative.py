"""Speculative decoding: a cheap draft model proposes k tokens, the target model checks them all in one
call, and a rejection-sampling rule keeps the output distributed exactly as the target's. See README.md.

A model is a callable: model(tokens) with tokens a 1-D long tensor of length n returns an (n, V) tensor
whose row i is the probability distribution of the token that follows tokens[:i+1].
Draw every random number from the torch.Generator `gen` you are given (torch.rand(..., generator=gen),
torch.multinomial(..., generator=gen))."""
import torch  # noqa: F401


def verify(p, q, draft_tokens, gen):
    """The acceptance rule for one round.

    p: (k+1, V) target probabilities at the k draft positions plus one more; q: (k, V) the draft
    probabilities the draft tokens were sampled from; draft_tokens: k ints.
    Accept draft token i with probability min(1, p[i, t] / q[i, t]). At the first rejection, append one
    token sampled from the residual max(p[i] - q[i], 0) (normalised) and stop. If all k are accepted,
    append a bonus token sampled from p[k]. Returns a list of 1 to k+1 ints."""
    raise NotImplementedError("speculative.py: verify()")


def speculative_generate(target, draft, prefix, n_new, k, gen):
    """Sample n_new tokens after `prefix` (a list of ints). Each round: sample k tokens from the draft
    one at a time (k draft calls), score prefix + drafts with ONE target call, keep what verify returns.
    Returns a list of exactly n_new ints (cut the last round short if it overshoots)."""
    raise NotImplementedError("speculative.py: speculative_generate()")
