"""GGUF blocks: encode byte-exact against an independent numpy oracle that follows llama.cpp's reference
quantizers (quantize_row_q8_0_ref, quantize_row_q4_0_ref) step by step, on random data, exact ties,
negative and positive extremes, zero blocks; decode against the oracle on random bytes."""
import numpy as np
import pytest
import torch

from kata.testing import assert_close, assert_equal


def np_q8_0(x):
    x = np.asarray(x, dtype=np.float32).reshape(-1, 32)
    out = bytearray()
    for b in x:
        amax = np.float32(np.max(np.abs(b)))
        d = np.float32(amax / np.float32(127))
        idd = np.float32(np.float32(1) / d) if d != 0 else np.float32(0)
        out += np.float16(d).tobytes()
        for v in b:
            y = np.float32(v * idd)
            q = int(np.floor(abs(y) + np.float32(0.5))) * (1 if y >= 0 else -1)   # roundf: ties away from zero
            out += int(q).to_bytes(1, "little", signed=True)
    return np.frombuffer(bytes(out), dtype=np.uint8)


def np_q4_0(x):
    x = np.asarray(x, dtype=np.float32).reshape(-1, 32)
    out = bytearray()
    for b in x:
        amax, mx = np.float32(0), np.float32(0)
        for v in b:
            if amax < abs(v):
                amax, mx = np.float32(abs(v)), np.float32(v)
        d = np.float32(mx / np.float32(-8))
        idd = np.float32(np.float32(1) / d) if d != 0 else np.float32(0)
        out += np.float16(d).tobytes()
        for j in range(16):
            x0 = np.float32(b[j] * idd)
            x1 = np.float32(b[16 + j] * idd)
            q0 = min(15, int(np.float32(x0 + np.float32(8.5))))
            q1 = min(15, int(np.float32(x1 + np.float32(8.5))))
            out.append(q0 | (q1 << 4))
    return np.frombuffer(bytes(out), dtype=np.uint8)


def check_encode(mod, fmt, x, what):
    fn, oracle, size = {"q8_0": (mod.encode_q8_0, np_q8_0, 34), "q4_0": (mod.encode_q4_0, np_q4_0, 18)}[fmt]
    got = fn(torch.as_tensor(x, dtype=torch.float32).clone())
    want = torch.from_numpy(oracle(x).copy())
    if not isinstance(got, torch.Tensor) or got.dtype != torch.uint8 or got.numel() != want.numel():
        raise AssertionError(f"encode_{fmt} on {what}: expected a uint8 tensor of {want.numel()} bytes ({size} per block "
                             f"of 32), got {getattr(got, 'dtype', type(got))} with {getattr(got, 'numel', lambda: '?')()} elements")
    got = got.reshape(-1)
    bad = torch.where(got != want)[0]
    if bad.numel():
        i = int(bad[0])
        blk, off = divmod(i, size)
        where = "the fp16 scale d" if off < 2 else (f"quant byte {off - 2}")
        raise AssertionError(
            f"encode_{fmt} on {what}: {bad.numel()} of {want.numel()} bytes differ; first at byte {i} (block {blk}, "
            f"{where}): got 0x{int(got[i]):02x}, expected 0x{int(want[i]):02x}.\n  block {blk} input: "
            f"{np.asarray(x, dtype=np.float32).reshape(-1, 32)[blk][:8].tolist()} ...\n  " + HINT[fmt])


HINT = {
    "q8_0": ("Q8_0: d = amax / 127 (float32), id = 1 / d (0 if d == 0), q = roundf(x * id) with ties AWAY from zero "
             "(torch.round rounds ties to even), stored as int8; d stored as fp16, little-endian, first."),
    "q4_0": ("Q4_0: max = the element with the largest |x| (first one on ties), WITH its sign; d = max / -8; id = 1 / d; "
             "q = min(15, trunc(x * id + 8.5)); byte j = q[j] | q[j + 16] << 4 (low nibbles: the first half of the block)."),
}


@pytest.mark.parametrize("fmt", ["q8_0", "q4_0"])
def test_random_blocks(kata, fmt):
    g = np.random.default_rng(1)
    x = (g.standard_normal(32 * 40) * np.repeat(np.exp(g.standard_normal(40) * 2), 32)).astype(np.float32)
    check_encode(kata.module(), fmt, x, "40 random blocks of different scales")


def test_q8_0_ties(kata):
    # amax 127 gives d = 1 exactly: x = k + 0.5 sits exactly between two integers.
    x = np.array([127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5] + [10.5, -10.5, 100.5, -126.5] + [0.0] * 20, dtype=np.float32)
    check_encode(kata.module(), "q8_0", x, "a block with amax 127 (d = 1) and values k + 0.5 (exact ties)")


def test_q4_0_sign_of_max(kata):
    # The largest magnitude negative in one block, positive in another: the sign of d differs.
    a = np.linspace(-3.0, 2.0, 32).astype(np.float32)
    b = np.linspace(-2.0, 3.0, 32).astype(np.float32)
    c = np.array([1.0, -1.0] * 16, dtype=np.float32)  # a tie in magnitude: the first one wins
    check_encode(kata.module(), "q4_0", np.concatenate([a, b, c]), "blocks whose largest-magnitude element is negative, positive, tied")


@pytest.mark.parametrize("fmt", ["q8_0", "q4_0"])
def test_zero_and_tiny_blocks(kata, fmt):
    x = np.concatenate([np.zeros(32), np.full(32, 1e-6), np.arange(32) * 1e3]).astype(np.float32)
    check_encode(kata.module(), fmt, x, "an all-zero block, a block of 1e-6, a block up to 31,000")


@pytest.mark.parametrize("fmt", ["q8_0", "q4_0"])
def test_decode(kata, fmt):
    mod = kata.module()
    g = np.random.default_rng(2)
    x = g.standard_normal(32 * 16).astype(np.float32)
    data = torch.from_numpy((np_q8_0 if fmt == "q8_0" else np_q4_0)(x).copy())
    got = (mod.decode_q8_0 if fmt == "q8_0" else mod.decode_q4_0)(data.clone())
    size = 34 if fmt == "q8_0" else 18
    rows = data.numpy().reshape(-1, size)
    d = rows[:, :2].copy().view(np.float16).astype(np.float32)
    if fmt == "q8_0":
        q = rows[:, 2:].copy().view(np.int8).astype(np.float32)
    else:
        p = rows[:, 2:].astype(np.int64)
        q = np.concatenate([p & 0xF, p >> 4], axis=1).astype(np.float32) - 8
    want = torch.from_numpy((q * d).reshape(-1))
    try:
        assert_close(got, want, atol=0, rtol=0, what=f"decode_{fmt}", on="16 blocks encoded by the reference quantizer")
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {HINT[fmt]}") from None
    assert_close(got, torch.from_numpy(x), atol=0.6 if fmt == "q4_0" else 0.03, what=f"decode(encode(x)) for {fmt}",
                 on="standard normal values (quantization error bound)")
