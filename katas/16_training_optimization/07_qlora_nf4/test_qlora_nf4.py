"""NF4: the published code values; nibbles byte-exact (nearest code, high nibble first) on shapes with
tails and odd sizes; the double-quantized constants within half a step; storage about 4.13 bits per
weight; dequantization against an independent oracle; NF4 beats a uniform 4-bit grid on normal weights."""
import pytest
import torch

from kata.testing import assert_close, assert_equal

# Published NF4 values (QLoRA, Appendix E / bitsandbytes), as float32.
NF4 = torch.tensor([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                    0.24611230850219727, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                    0.7229568362236023, 1.0])


def oracle_nibbles(w, bs):
    flat = w.reshape(-1).float()
    n = flat.numel()
    nb = -(-n // bs)
    pad = torch.zeros(nb * bs)
    pad[:n] = flat
    absmax = pad.view(nb, bs).abs().amax(1)
    normed = flat / torch.where(absmax > 0, absmax, torch.ones_like(absmax)).repeat_interleave(bs)[:n]
    return (normed[:, None] - NF4[None, :]).abs().argmin(1), absmax


def unpack(packed, n):
    p = packed.to(torch.int64)
    return torch.stack([p >> 4, p & 0xF], 1).reshape(-1)[:n]


def test_code_values(kata):
    mod = kata.module()
    got = mod.nf4_code()
    assert isinstance(got, torch.Tensor) and got.numel() == 16, f"nf4_code() must return 16 values, got {got!r}"
    try:
        assert_close(got.float(), NF4, atol=1e-6, what="nf4_code()", on="the published NF4 table")
    except AssertionError as e:
        lin = torch.allclose(got.float(), torch.linspace(-1, 1, 16), atol=1e-6)
        raise AssertionError(f"{e}\n  " + ("These are 16 evenly spaced levels. NF4 places its levels at quantiles of a "
                                           "normal distribution, so each is used equally often by normally distributed "
                                           "weights, and it has an exact 0 (8 positive levels, 7 negative)." if lin else
                                           "See README.md for the construction.")) from None


@pytest.mark.parametrize("shape,bs", [((64,), 64), ((10, 13), 64), ((7,), 64), ((3, 100), 32), ((1001,), 64)])
def test_nibbles_byte_exact(kata, shape, bs):
    mod = kata.module()
    g = torch.Generator().manual_seed(sum(shape) + bs)
    w = torch.randn(shape, generator=g) * 0.02
    q = mod.quantize_nf4(w.clone(), block_size=bs)
    n = w.numel()
    packed = q["packed"]
    assert packed.dtype == torch.uint8 and packed.numel() == -(-n // 2), (
        f"packed must be uint8 with ceil({n} / 2) = {-(-n // 2)} bytes, got {packed.dtype} with {packed.numel()}")
    want_idx, _ = oracle_nibbles(w, bs)
    if n % 2:
        want_idx = torch.cat([want_idx, torch.zeros(1, dtype=torch.int64)])
    want = (want_idx[0::2] << 4) | want_idx[1::2]
    try:
        assert_equal(packed.to(torch.int64), want, what="packed bytes", on=f"w of shape {shape}, block_size {bs}")
    except AssertionError as e:
        swapped = (want_idx[1::2] << 4) | want_idx[0::2]
        hint = ("Your nibbles are swapped: element 2i goes in the HIGH nibble (idx[0::2] << 4 | idx[1::2])."
                if torch.equal(packed.to(torch.int64), swapped) else
                "Each nibble is argmin |w / absmax(block) - nf4_code()|, with absmax the exact max |w| of its block.")
        raise AssertionError(f"{e}\n  {hint}") from None


def test_double_quantized_constants(kata):
    mod = kata.module()
    g = torch.Generator().manual_seed(3)
    w = torch.randn(300, 256, generator=g) * torch.linspace(0.01, 0.2, 256)  # 1200 blocks, absmax varying
    q = mod.quantize_nf4(w, block_size=64, dq_block_size=256)
    _, absmax = oracle_nibbles(w, 64)
    assert q["absmax_q"].dtype == torch.int8 and q["absmax_q"].numel() == absmax.numel(), (
        f"absmax_q must be int8 with one entry per block ({absmax.numel()}), got {q['absmax_q'].dtype} with "
        f"{q['absmax_q'].numel()}: double quantization stores the block constants in 8 bits")
    assert q["dq_scale"].numel() == -(-absmax.numel() // 256), f"dq_scale needs one entry per 256 blocks ({-(-absmax.numel() // 256)})"
    assert_close(q["absmax_mean"], absmax.mean(), rtol=1e-5, atol=0, what="absmax_mean", on="1200 blocks")
    c = (absmax - absmax.mean())
    pad = torch.zeros(-(-c.numel() // 256) * 256)
    pad[:c.numel()] = c
    assert_close(q["dq_scale"], pad.view(-1, 256).abs().amax(1), rtol=1e-5, atol=1e-9, what="dq_scale",
                 on="max |absmax - mean| per group of 256 blocks")
    rec = q["absmax_q"].float() / 127 * q["dq_scale"].repeat_interleave(256)[:absmax.numel()] + q["absmax_mean"]
    step = q["dq_scale"].repeat_interleave(256)[:absmax.numel()] / 127
    err = (rec - absmax).abs()
    bad = torch.where(err > step / 2 * 1.001 + 1e-9)[0]
    assert bad.numel() == 0, (f"{bad.numel()} block constants are off by more than half a quantization step after "
                              f"double quantization, e.g. block {int(bad[0])}: absmax {absmax[bad[0]].item():.6g}, "
                              f"recovered {rec[bad[0]].item():.6g}. absmax_q = round((absmax - mean) / dq_scale * 127).")


def test_storage_bits_per_weight(kata):
    mod = kata.module()
    w = torch.randn(256, 512, generator=torch.Generator().manual_seed(4))
    q = mod.quantize_nf4(w)
    total = sum(v.numel() * v.element_size() for v in q.values() if isinstance(v, torch.Tensor))
    bits = 8 * total / w.numel()
    kata.record(bits_per_weight=round(bits, 4))
    assert bits <= 4.13, (
        f"the quantized tensors hold {bits:.3f} bits per weight; NF4 with double quantization needs 4 + 8/64 + "
        "32/(64*256) = 4.127 (4.5 with float32 block constants). Store absmax_q as int8, one float32 dq_scale per "
        "256 blocks and one float32 mean.")


@pytest.mark.parametrize("shape", [(64, 64), (5, 77), (1,), (130, 3)])
def test_dequantize(kata, shape):
    mod = kata.module()
    w = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))
    w.view(-1)[:64] = 0  # an all-zero first block
    q = mod.quantize_nf4(w.clone())
    got = mod.dequantize_nf4(q)
    assert tuple(got.shape) == tuple(shape), f"dequantize_nf4 must return shape {shape}, got {tuple(got.shape)}"
    assert torch.isfinite(got).all(), "dequantize_nf4 returned NaN/inf (an all-zero block: absmax 0, divide by 1 instead)"
    idx = unpack(q["packed"], w.numel())
    nb = q["absmax_q"].numel()
    absmax = q["absmax_q"].float() / 127 * q["dq_scale"].repeat_interleave(256)[:nb] + q["absmax_mean"]
    want = (NF4[idx] * absmax.repeat_interleave(64)[:w.numel()]).reshape(shape)
    assert_close(got, want, atol=1e-6, rtol=1e-6, what="dequantize_nf4", on=f"shape {shape}")


def test_beats_uniform_grid(kata):
    mod = kata.module()
    w = torch.randn(64, 1024, generator=torch.Generator().manual_seed(5))
    err = (mod.dequantize_nf4(mod.quantize_nf4(w)) - w).pow(2).mean()
    grid = torch.linspace(-1, 1, 16)
    blocks = w.view(-1, 64)
    am = blocks.abs().amax(1, keepdim=True)
    uni = grid[((blocks / am)[..., None] - grid).abs().argmin(-1)] * am
    err_u = (uni - blocks).pow(2).mean()
    kata.record(mse_nf4=float(err), mse_uniform=float(err_u))
    assert err < 0.85 * err_u, (f"on normal weights NF4's mean squared error is {err:.4g}, a uniform 16-level grid's "
                                f"{err_u:.4g}: NF4 should be clearly lower")
