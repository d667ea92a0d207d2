"""RTN, AWQ and GPTQ on a small linear layer (64 x 128) whose calibration inputs are correlated and have
outlier channels, as LLM activations do. Correctness: weights on the int grid, rounding to nearest,
AWQ's scales consistent with its weights, and neither method worse than RTN on the calibration data.
The gates: each beats RTN's output error on held-out inputs by a margin set well inside the measured one."""
import pytest
import torch

from kata.toolkit import describe, expect

OUT, IN = 64, 128


def layer(seed, n=512, outliers=True):
    """W (64, 128) and two independent input batches (512 rows each) (calibration, held-out) of the same distribution:
    correlated channels (a random basis with a decaying spectrum), and 6 channels 10x larger."""
    g = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(IN, IN, generator=g))
    sv = torch.exp(-torch.arange(IN) / 16.0) + 0.02
    B = (U * sv) @ torch.linalg.qr(torch.randn(IN, IN, generator=g))[0]
    c = torch.ones(IN)
    if outliers:
        c[torch.randperm(IN, generator=g)[:6]] = 10.0
    X = (torch.randn(n, IN, generator=g) @ B) * c
    Xt = (torch.randn(n, IN, generator=g) @ B) * c
    W = torch.randn(OUT, IN, generator=g) * 0.05
    return W, X, Xt


def out_err(W, Weff, X):
    ref = X.double() @ W.double().T
    return ((X.double() @ Weff.double().T - ref).norm() / ref.norm()).item()


def check_grid(Wq, target, scale, bits, what, on):
    """Wq[r] = q * scale[r] with integer q in range, and each entry the grid point nearest target."""
    qmax = 2 ** (bits - 1) - 1
    expect(isinstance(Wq, torch.Tensor) and Wq.shape == target.shape and Wq.dtype == torch.float32,
           f"{what} on {on}: got {describe(Wq)}, expected float32 {tuple(target.shape)}")
    expect(bool(torch.isfinite(Wq).all()), f"{what} on {on}: NaN or inf in the result. An all-zero row has scale "
                                           "0: 0 / 0 is NaN; give such rows any nonzero scale (they stay zero).")
    s = scale.double()[:, None]
    safe = torch.where(s > 0, s, torch.ones_like(s))
    q = Wq.double() / safe
    off_grid = (q - q.round()).abs() > 1e-3
    out_range = (q.round() < -qmax - 1) | (q.round() > qmax)
    if off_grid.any() or out_range.any():
        r, c = torch.nonzero(off_grid | out_range)[0].tolist()
        raise AssertionError(f"{what} on {on}: entry [{r}, {c}] = {Wq[r, c].item():.6g} is not an integer in "
                             f"[{-qmax - 1}, {qmax}] times its row's scale {scale[r].item():.6g} (= max|row| / {qmax}); "
                             f"q = {q[r, c].item():.4f}")
    far = (Wq.double() - target.double()).abs() > 0.5 * s * (1 + 1e-4) + 1e-9
    far &= ~(target.double().abs() > qmax * s)  # clamped values are far by design
    if far.any():
        r, c = torch.nonzero(far)[0].tolist()
        raise AssertionError(f"{what} on {on}: entry [{r}, {c}] is {Wq[r, c].item():.6g}, but the nearest grid point to "
                             f"{target[r, c].item():.6g} (scale {scale[r].item():.6g}) is "
                             f"{(target[r, c].double() / s[r, 0]).round().item() * s[r, 0].item():.6g}: round to nearest")


@pytest.mark.parametrize("bits", [4, 3, 8])
def test_rtn(kata, bits):
    mod = kata.module()
    W, _, _ = layer(0, n=8)
    W[5] = 0.0  # an all-zero row
    W[7, :3] = torch.tensor([1.0, -1.0, 0.5])
    before = W.clone()
    Wq = mod.quantize_rtn(W, bits)
    expect(torch.equal(before, W), "quantize_rtn modified W: inputs are read-only")
    qmax = 2 ** (bits - 1) - 1
    check_grid(Wq, W, W.abs().amax(1) / qmax, bits, f"quantize_rtn(W, bits={bits})", "W (64, 128) with an all-zero row 5")
    expect(bool((Wq[5] == 0).all()), f"quantize_rtn(W, bits={bits}): the all-zero row 5 came back as {Wq[5, :4].tolist()}...")
    expect(Wq[7, 0].item() == W[7].abs().max().item(),
           f"quantize_rtn(W, bits={bits}): row 7's largest entry ({W[7].abs().max().item()}) must be exactly on the grid "
           f"(q = {qmax}), got {Wq[7, 0].item()}")


def test_awq_structure(kata):
    mod = kata.module()
    W, X, _ = layer(1)
    Wb, Xb = W.clone(), X.clone()
    out = mod.awq(W, X)
    expect(torch.equal(Wb, W) and torch.equal(Xb, X), "awq modified W or X: inputs are read-only")
    expect(isinstance(out, tuple) and len(out) == 2, f"awq returned {type(out).__name__}, expected a tuple (Wq, s)")
    Wq, s = out
    expect(isinstance(s, torch.Tensor) and s.shape == (IN,) and bool((s > 0).all()) and bool(torch.isfinite(s).all()),
           f"awq's s is {describe(s)}, expected {IN} positive finite per-input-channel scales")
    target = W.double() * s.double()
    check_grid(Wq, target, target.abs().amax(1) / 7, 4, "awq's Wq", "layer seed 1: Wq must be quantize_rtn(W * s) "
               "for the s you return (the caller runs (X / s) @ Wq.T, i.e. the weight Wq / s)")


def test_awq_not_worse_than_rtn(kata):
    # alpha = 0 is plain RTN and is in the search: on the calibration data AWQ can only be better.
    mod = kata.module()
    for seed in (2,):
        W, X, _ = layer(seed)
        Wq, s = mod.awq(W, X)
        rtn, got = out_err(W, mod.quantize_rtn(W), X), out_err(W, Wq / s, X)
        expect(got <= rtn * (1 + 1e-6), f"awq on layer seed {seed}: calibration output error {got:.4g}, RTN's {rtn:.4g}. "
                                        "The search includes alpha = 0 (s = 1, plain RTN): keep the alpha with the "
                                        "smallest error of (X / s) @ Wq.T against X @ W.T")


def test_gptq_structure(kata):
    mod = kata.module()
    W, X, _ = layer(4)
    Wb, Xb = W.clone(), X.clone()
    Q = mod.gptq(W, X)
    expect(torch.equal(Wb, W) and torch.equal(Xb, X), "gptq modified W or X: inputs are read-only (work on a copy)")
    scale = W.abs().amax(1) / 7
    qmax = 7
    expect(isinstance(Q, torch.Tensor) and Q.shape == W.shape and Q.dtype == torch.float32,
           f"gptq returned {describe(Q)}, expected float32 {tuple(W.shape)}")
    q = Q.double() / scale.double()[:, None]
    bad = ((q - q.round()).abs() > 1e-3) | (q.round() < -qmax - 1) | (q.round() > qmax)
    expect(not bool(bad.any()), f"gptq's result has {int(bad.sum())} entries that are not an integer in [-8, 7] times "
                                "their row's scale, max|W[r]| / 7 of the ORIGINAL W (fix the scales before the "
                                "compensation moves the weights)")


def test_gptq_uncorrelated_is_rtn(kata):
    # With orthogonal input columns, H is diagonal: no column can compensate another, and GPTQ is RTN.
    mod = kata.module()
    W, _, _ = layer(5, n=8)
    X = torch.linalg.qr(torch.randn(256, IN, generator=torch.Generator().manual_seed(5)))[0] * \
        torch.linspace(0.5, 3.0, IN)
    Q, R = mod.gptq(W, X), mod.quantize_rtn(W)
    diff = (Q - R).abs() > 1e-6
    expect(not bool(diff.any()), f"gptq with uncorrelated inputs (X.T @ X diagonal) differs from RTN at {int(diff.sum())} "
                                 "entries: with a diagonal Hessian there is nothing to compensate. Is the update using "
                                 "the inverse Hessian's Cholesky factor (its off-diagonal entries are zero here)?")


def test_gptq_not_worse_than_rtn(kata):
    mod = kata.module()
    for seed in (6,):
        W, X, _ = layer(seed)
        rtn, got = out_err(W, mod.quantize_rtn(W), X), out_err(W, mod.gptq(W, X), X)
        expect(got <= rtn * 1.02, f"gptq on layer seed {seed}: calibration output error {got:.4g}, RTN's {rtn:.4g}: "
                                  "compensation made it worse. After quantising column i: err = (w - q) / U[i, i], then "
                                  "W[:, i+1:] -= err outer U[i, i+1:], with U the upper Cholesky factor of H^-1.")


# ----------------------------------------------------------------------------------- the gates
# Held-out inputs (not the calibration batch), mean over 4 layers. Measured with the reference:
# RTN 0.117, AWQ 0.084 (1.40x lower; 1.32x to 1.44x per layer), GPTQ 0.051 (2.29x lower; 1.71x to
# 2.83x per layer). RTN itself is 1.00x. Gates: AWQ 1.15x, GPTQ 1.4x.
AWQ_GATE, GPTQ_GATE = 1.15, 1.4
SEEDS = (10, 11, 12, 13)


def mean_errors(mod, method):
    rtn, got = [], []
    for seed in SEEDS:
        W, X, Xt = layer(seed)
        if method == "awq":
            Wq, s = mod.awq(W, X)
            Weff = Wq / s
        else:
            Weff = mod.gptq(W, X)
        rtn.append(out_err(W, mod.quantize_rtn(W), Xt))
        got.append(out_err(W, Weff, Xt))
    return sum(rtn) / len(rtn), sum(got) / len(got)


@pytest.mark.perf
def test_awq_beats_rtn(kata):
    rtn, got = mean_errors(kata.module(), "awq")
    kata.record(rtn_error=round(rtn, 4), awq_error=round(got, 4), awq_gain=round(rtn / got, 3), gate=AWQ_GATE)
    expect(rtn / got >= AWQ_GATE, f"AWQ's held-out output error {got:.4g} vs RTN's {rtn:.4g}: {rtn / got:.2f}x lower, the "
                                  f"gate is {AWQ_GATE}x (the reference: 1.40x). Scale salient input channels up before "
                                  "rounding (s = mean|X| ** alpha, searched).")


@pytest.mark.perf
def test_gptq_beats_rtn(kata):
    rtn, got = mean_errors(kata.module(), "gptq")
    kata.record(rtn_error=round(rtn, 4), gptq_error=round(got, 4), gptq_gain=round(rtn / got, 3), gate=GPTQ_GATE)
    expect(rtn / got >= GPTQ_GATE, f"GPTQ's held-out output error {got:.4g} vs RTN's {rtn:.4g}: {rtn / got:.2f}x lower, "
                                   f"the gate is {GPTQ_GATE}x (the reference: 2.29x). Compensate each column's "
                                   "rounding error in the columns not yet quantised.")
