"""GGUF (llama.cpp) Q8_0 and Q4_0 blocks, byte for byte. See README.md.

Inputs are float32 tensors whose length is a multiple of 32; encoded data is a 1-D uint8 tensor.
Do all arithmetic in float32, in the order README.md gives, so the bytes match llama.cpp's."""
import torch  # noqa: F401

QK = 32


def encode_q8_0(x):
    """34 bytes per block of 32: fp16 d = amax / 127 (little-endian), then 32 int8 round(x / d)."""
    raise NotImplementedError("gguf_blocks.py: encode_q8_0()")


def decode_q8_0(data):
    """float32 values q * d."""
    raise NotImplementedError("gguf_blocks.py: decode_q8_0()")


def encode_q4_0(x):
    """18 bytes per block of 32: fp16 d = max / -8 (max = the element of largest magnitude, with its
    sign), then 16 bytes: byte j holds element j in its low nibble and element j + 16 in its high nibble,
    each as min(15, trunc(x / d + 8.5))."""
    raise NotImplementedError("gguf_blocks.py: encode_q4_0()")


def decode_q4_0(data):
    """float32 values (nibble - 8) * d."""
    raise NotImplementedError("gguf_blocks.py: decode_q4_0()")
