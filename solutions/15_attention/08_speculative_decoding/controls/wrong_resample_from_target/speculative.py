"""Wrong control: after a rejection, samples from p instead of the residual max(p - q, 0)."""
"""Speculative decoding: a cheap draft model proposes k tokens, the target model checks them all in one
call, and a rejection-sampling rule keeps the output distributed exactly as the target's. See README.md."""
import torch


def verify(p, q, draft_tokens, gen):
    """p (k+1, V): target probabilities at the k draft positions and one more; q (k, V): the draft's
    probabilities that the draft tokens were sampled from. Returns the accepted tokens followed by one
    more token (a resample at the first rejection, or a bonus token from p[k]): 1 to k+1 ints."""
    k = len(draft_tokens)
    out = []
    for i in range(k):
        t = int(draft_tokens[i])
        u = torch.rand((), generator=gen, dtype=torch.float64)
        if float(u) * float(q[i, t]) < float(p[i, t]):      # accept with probability min(1, p/q)
            out.append(t)
            continue
        residual = p[i].double()
        out.append(int(torch.multinomial(residual / residual.sum(), 1, generator=gen)))
        return out
    out.append(int(torch.multinomial(p[k].double(), 1, generator=gen)))
    return out


def speculative_generate(target, draft, prefix, n_new, k, gen):
    """Sample n_new tokens after `prefix` (a list of ints): draft k tokens one by one, score them with a
    single target call, keep what verify() returns. Returns a list of n_new ints."""
    seq, out = list(prefix), []
    while len(out) < n_new:
        drafts, qs = [], []
        for _ in range(k):
            qrow = draft(torch.tensor(seq + drafts))[-1]
            drafts.append(int(torch.multinomial(qrow.double(), 1, generator=gen)))
            qs.append(qrow)
        p = target(torch.tensor(seq + drafts))[-(k + 1):]
        got = verify(p, torch.stack(qs), drafts, gen)
        seq += got
        out += got
    return out[:n_new]
