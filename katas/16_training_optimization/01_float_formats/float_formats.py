"""fp16, bf16, fp8 e4m3 and fp8 e5m2 by hand: round-to-nearest-even encoding from float32 bits, with
subnormals, infinities, NaN and optional saturation; and decoding. See README.md.

Work on the integer bits (x.view(torch.int32)) with int64 tensor arithmetic. Never create a float16,
bfloat16 or float8 tensor (no x.to(torch.float16), x.half(), ...): that is what you are re-implementing."""
import torch  # noqa: F401

# name: (exponent bits, mantissa bits, bias, has_inf)
FORMATS = {
    "fp16": (5, 10, 15, True),
    "bf16": (8, 7, 127, True),
    "fp8_e4m3": (4, 3, 7, False),   # "fn": no infinities, a single NaN mantissa (S.1111.111), max 448
    "fp8_e5m2": (5, 2, 15, True),
}


def encode(x, fmt, saturate=False):
    """Bit patterns (an int64 tensor, values 0 .. 2**bits - 1, sign in the top bit) of the float32
    tensor x rounded to `fmt`: round to nearest, ties to even; results below the smallest normal become
    subnormals; -0.0 keeps its sign; NaN gives a NaN pattern.

    Overflow (|x| beyond the largest finite value after rounding, or inf):
      fp16, bf16, e5m2: +-inf, or with saturate=True the largest finite value of that sign;
      e4m3 (no inf): the largest finite value, 448, whether or not saturate is set (torch's cast does this)."""
    raise NotImplementedError("float_formats.py: encode()")


def decode(bits, fmt):
    """float32 values of the bit patterns `bits` (an integer tensor) in `fmt`: normals, subnormals,
    zeros of both signs, inf and NaN (e4m3: S.1111.111 is NaN and there is no inf)."""
    raise NotImplementedError("float_formats.py: decode()")
