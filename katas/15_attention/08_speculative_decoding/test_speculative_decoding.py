"""Speculative decoding: deterministic acceptance cases, then statistical tests that the output
distribution equals the target model's, one position (verify) and three positions end to end; then a
count of target calls.

THE STATISTICAL TESTS. Each compares observed token counts with the exact target distribution by a
chi-square goodness-of-fit test at significance ALPHA = 1e-4: a correct implementation fails such a test
for 1 random seed in 10,000 (the false-failure rate). The seeds are fixed, so a given submission always
gets the same verdict; the reference passes with the seeds used. The wrong controls (accept everything,
resample from p, inverted ratio) give chi-square values 6 to 1,000 times the threshold.

The learner's calls run beside support/probes.py, which holds the generator they share and builds the
Markov models from the same seeds as the test's; the oracle and every check stay here."""
import itertools
import math

import pytest
import torch
from kata.toolkit import support_module

ALPHA = 1e-4
Z = 3.719016  # the standard normal quantile at 1 - ALPHA


def chi2_threshold(df):
    """Upper 1e-4 point of the chi-square distribution (Wilson-Hilferty; within 1% for df >= 3)."""
    a = 2.0 / (9.0 * df)
    return df * (1 - a + Z * math.sqrt(a)) ** 3


def chi_square(counts, probs):
    """(statistic, degrees of freedom), pooling cells whose expected count is below 5."""
    n = sum(counts.values())
    cells, pooled_obs, pooled_exp = [], 0, 0.0
    for key, pr in probs.items():
        e = n * pr
        if e < 5:
            pooled_obs += counts.get(key, 0)
            pooled_exp += e
        else:
            cells.append((counts.get(key, 0), e))
    if pooled_exp > 0:
        cells.append((pooled_obs, pooled_exp))
    extra = sum(c for k, c in counts.items() if k not in probs)
    if extra:
        return float("inf"), len(cells) - 1
    return sum((o - e) ** 2 / e for o, e in cells), len(cells) - 1


def report(counts, probs, top=6):
    n = sum(counts.values())
    rows = sorted(probs, key=lambda k: -abs(counts.get(k, 0) / n - probs[k]))[:top]
    return "\n".join(f"    {k}: observed {counts.get(k, 0) / n:.4f}, target {probs[k]:.4f}" for k in rows)


Markov = support_module(__file__).Markov  # the class the probe builds beside the learner's code


# ------------------------------------------------------------------------------- deterministic


def test_identical_models_accept_everything(kata):
    p = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]], dtype=torch.float64)
    calls = [(p, p[:3].clone(), [trial % 3, (trial + 1) % 3, 2]) for trial in range(50)]
    outs = kata.probe("probes.py").verify_calls(kata.module(), 0, calls)   # one generator, seeded 0, for all
    for trial, out in enumerate(outs):
        assert len(out) == 4 and out[:3] == [trial % 3, (trial + 1) % 3, 2], (
            f"with q == p every draft token must be accepted (p/q = 1) and a bonus token appended: expected "
            f"[{trial % 3}, {(trial + 1) % 3}, 2, <bonus>], got {out}")


def test_impossible_draft_is_rejected(kata):
    # The target gives token 2 probability 0: a drafted 2 must always be rejected, and the replacement
    # comes from the residual max(p - q, 0), which here is p itself, so never 2.
    p = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], dtype=torch.float64)
    q = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
    for out in kata.probe("probes.py").verify_calls(kata.module(), 1, [(p, q, [2])] * 50):
        assert len(out) == 1 and out[0] in (0, 1), (
            f"draft token 2 has target probability 0 and must be rejected, the replacement drawn from "
            f"max(p - q, 0) = [0.5, 0.5, 0]: expected [0] or [1], got {out}")


def test_returns_ints_and_lengths(kata):
    p = torch.full((4, 5), 0.2, dtype=torch.float64)
    q = torch.tensor([[0.6, 0.1, 0.1, 0.1, 0.1]] * 3, dtype=torch.float64)
    for out in kata.probe("probes.py").verify_calls(kata.module(), 2, [(p, q, [0, 1, 0])] * 40):
        assert isinstance(out, list) and 1 <= len(out) <= 4 and all(isinstance(t, int) for t in out), (
            f"verify must return a list of 1 to k+1 = 4 Python ints, got {out!r}")


# -------------------------------------------------------------------------------- statistical


def test_one_position_distribution(kata):
    # k = 1: the first returned token must be distributed as p[0], whatever q is. 8,000 rounds.
    p = torch.tensor([[0.45, 0.3, 0.15, 0.07, 0.03], [0.2] * 5], dtype=torch.float64)
    q = torch.tensor([[0.05, 0.15, 0.2, 0.3, 0.3]], dtype=torch.float64)
    counts = {}
    # each round draws the draft token from q[0], then verifies it, with one generator seeded 1234
    for t in kata.probe("probes.py").one_position(kata.module(), 1234, p, q, 8000):
        counts[t] = counts.get(t, 0) + 1
    probs = {i: float(p[0, i]) for i in range(5)}
    stat, df = chi_square(counts, probs)
    thr = chi2_threshold(df)
    kata.record(chi2=round(stat, 2), threshold=round(thr, 2))
    print(f"chi-square {stat:.2f}, threshold {thr:.2f}, df {df}")
    assert stat <= thr, (
        f"the first token of verify() is not distributed as the target p (chi-square {stat:.1f} > {thr:.1f}, "
        f"df {df}, significance 1e-4: a correct implementation fails this 1 time in 10,000):\n{report(counts, probs)}\n"
        "  Accept draft t with probability min(1, p[t] / q[t]); on rejection sample from max(p - q, 0) normalised "
        "(not from p: tokens the draft over-proposes must not get extra mass).")


def exact_joint(target, prefix, n):
    """Exact probability of every n-token continuation of prefix under the target."""
    out = {}
    for seq in itertools.product(range(target.V), repeat=n):
        pr, ctx = 1.0, list(prefix)
        for t in seq:
            pr *= float(target.dist(ctx[-2] if len(ctx) > 1 else 0, ctx[-1])[t])
            ctx.append(t)
        out[seq] = pr
    return out


@pytest.mark.time_limit(120)
def test_end_to_end_distribution(kata):
    # 3 tokens from V = 4 (64 outcomes), k = 2, a draft that is a blend of the target and noise.
    # 2,000 generations; chi-square at significance 1e-4 against the exact joint distribution.
    target = Markov(4, seed=5, temp=1.5)   # the oracle's; the probe builds the same, and the draft
    prefix = [1, 3]                          # Markov(4, seed=6, temp=1.5, base=target, mix=0.3)
    outs, _, _ = kata.probe("probes.py").generate(kata.module(), 4, 5, 6, 1.5, 0.3, prefix, 3, 2, 99, 2000)
    counts = {}
    for out in outs:
        assert isinstance(out, list) and len(out) == 3, f"speculative_generate(n_new=3) returned {out!r}: expected 3 ints"
        counts[tuple(int(t) for t in out)] = counts.get(tuple(int(t) for t in out), 0) + 1
    probs = exact_joint(target, prefix, 3)
    stat, df = chi_square(counts, probs)
    thr = chi2_threshold(df)
    kata.record(chi2=round(stat, 2), threshold=round(thr, 2), df=df)
    print(f"chi-square {stat:.2f}, threshold {thr:.2f}, df {df}")
    assert stat <= thr, (
        f"3-token continuations are not distributed as the target model's (chi-square {stat:.1f} > {thr:.1f}, df "
        f"{df}, significance 1e-4, false-failure rate 1 in 10,000):\n{report(counts, probs)}\n"
        "  Check: the target row for draft position i is the row predicting the token AFTER seq + drafts[:i] "
        "(p = target(seq + drafts)[-(k+1):]); the draft probabilities passed to verify are the rows the drafts "
        "were sampled from; the tokens verify returns are appended before the next round.")


# ------------------------------------------------------------------------- performance (a count)
# The point: one target call yields up to k+1 tokens. With a draft identical to the target every draft
# is accepted, so 60 tokens with k = 4 take ceil(60 / 5) = 12 target calls (the bonus token counts).


@pytest.mark.perf
def test_target_calls(kata):
    # target = draft = Markov(5, seed=7), built beside the learner's code; one call, generator seeded 3
    (out,), target_calls, draft_calls = kata.probe("probes.py").generate(kata.module(), 5, 7, 7, 1.0, None, [0, 1],
                                                                         60, 4, 3, 1)
    assert len(out) == 60
    kata.record(target_calls=target_calls, budget=12, draft_calls=draft_calls)
    assert target_calls <= 12, (
        f"60 tokens with k = 4 and a draft equal to the target took {target_calls} target calls; expected 12. Every "
        "round should draft k tokens, score them all with ONE target call, and keep the k accepted tokens plus "
        "the bonus token sampled from the last row.")
