"""Wrong control: flushes results below the smallest normal to zero."""
"""fp16, bf16, fp8 e4m3 and fp8 e5m2 by hand: round-to-nearest-even encoding from float32 bits, with
subnormals, infinities, NaN and optional saturation; and decoding. See README.md."""
import torch

# name: (exponent bits, mantissa bits, bias, has_inf)
FORMATS = {
    "fp16": (5, 10, 15, True),
    "bf16": (8, 7, 127, True),
    "fp8_e4m3": (4, 3, 7, False),   # "fn": no infinities, a single NaN mantissa (S.1111.111), max 448
    "fp8_e5m2": (5, 2, 15, True),
}


def max_code(fmt):
    """Bit pattern of the largest finite positive value."""
    E, M, _, has_inf = FORMATS[fmt]
    if has_inf:
        return ((2 ** E - 2) << M) | (2 ** M - 1)
    return ((2 ** E - 1) << M) | (2 ** M - 2)


def nan_code(fmt):
    E, M, _, has_inf = FORMATS[fmt]
    return ((2 ** E - 1) << M) | (1 << (M - 1) if has_inf else 2 ** M - 1)


def encode(x, fmt, saturate=False):
    """Bit patterns (int64 tensor, values 0 .. 2^bits - 1) of float32 x rounded to `fmt`, nearest-even."""
    E, M, B, has_inf = FORMATS[fmt]
    nbits = 1 + E + M
    x = x.to(torch.float32)
    u = x.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    sign = (u >> 31) & 1
    exp32 = (u >> 23) & 0xFF
    man32 = u & 0x7FFFFF
    is_nan = (exp32 == 255) & (man32 != 0)
    is_inf = (exp32 == 255) & (man32 == 0)
    # x = sig * 2^e exactly, for finite x
    sig = torch.where(exp32 > 0, man32 | (1 << 23), man32)
    e = torch.where(exp32 > 0, exp32 - 150, torch.full_like(exp32, -149))
    _, fr = torch.frexp(x.abs().to(torch.float64))
    ex = fr.to(torch.int64) - 1                                   # floor(log2 |x|)
    emin = 1 - B
    q = torch.maximum(ex, torch.full_like(ex, emin)) - M          # exponent of one ulp at |x|
    s = (q - e).clamp(min=1, max=40)
    n = sig >> s
    rem = sig & ((1 << s) - 1)
    half = 1 << (s - 1)
    up = (rem > half) | ((rem == half) & ((n & 1) == 1))
    n = n + up.to(torch.int64)
    # renormalise a carry into the next binade
    carry = n >= (1 << (M + 1))
    n = torch.where(carry, n >> 1, n)
    q = q + carry.to(torch.int64)
    normal = n >= (1 << M)
    efield = torch.where(normal, q + M + B, torch.zeros_like(q))
    code = torch.where(normal, (efield << M) | (n - (1 << M)), torch.zeros_like(n))
    top = max_code(fmt)
    overflow = (code > top) | is_inf
    if saturate or not has_inf:
        code = torch.where(overflow, torch.full_like(code, top), code)
    else:
        code = torch.where(overflow, torch.full_like(code, (2 ** E - 1) << M), code)
    code = torch.where(is_nan, torch.full_like(code, nan_code(fmt)), code)
    code = torch.where(x == 0, torch.zeros_like(code), code)
    return code | (sign << (nbits - 1))


def decode(bits, fmt):
    """float32 values of the bit patterns `bits` (any integer tensor) in `fmt`."""
    E, M, B, has_inf = FORMATS[fmt]
    b = bits.to(torch.int64) & ((1 << (1 + E + M)) - 1)
    sign = (b >> (E + M)) & 1
    ef = (b >> M) & (2 ** E - 1)
    m = b & (2 ** M - 1)
    mag = torch.where(ef > 0, (m + (1 << M)).to(torch.float64), m.to(torch.float64))
    mag = torch.ldexp(mag, torch.where(ef > 0, ef - B - M, torch.full_like(ef, 1 - B - M)).to(torch.float64))
    if has_inf:
        special = ef == 2 ** E - 1
        mag = torch.where(special & (m == 0), torch.full_like(mag, float("inf")), mag)
        mag = torch.where(special & (m != 0), torch.full_like(mag, float("nan")), mag)
    else:
        mag = torch.where((ef == 2 ** E - 1) & (m == 2 ** M - 1), torch.full_like(mag, float("nan")), mag)
    return torch.where(sign == 1, -mag, mag).to(torch.float32)
