"""QLoRA's 4-bit NormalFloat (NF4) with block-wise absmax and double quantization. See README.md."""
import torch  # noqa: F401


def nf4_code():
    """The 16 NF4 values, sorted, as a float32 tensor: -1.0, ..., 0.0, ..., 1.0 (7 negative, 0, 8 positive).
    Derive them from the definition in README.md (torch.special.ndtri is the normal quantile function)
    or copy the published table; they must agree with it to 1e-6."""
    raise NotImplementedError("nf4.py: nf4_code()")


def quantize_nf4(w, block_size=64, dq_block_size=256):
    """Quantize w (any shape) to NF4 with double quantization. Returns a dict:
      "packed":      uint8, ceil(n / 2) bytes; element 2i in the HIGH nibble, 2i+1 in the LOW nibble of
                     byte i (an odd last element leaves a low nibble of 0); the nibble is the index into
                     nf4_code() of the value nearest to w / absmax of its block
      "absmax_q":    int8, one per block of block_size consecutive elements of w.reshape(-1):
                     round((absmax - absmax_mean) / dq_scale * 127), dq_scale of its group
      "dq_scale":    float32, one per group of dq_block_size consecutive blocks: max |absmax - absmax_mean|
      "absmax_mean": float32 scalar tensor, the mean of all block absmax values
      "shape", "block_size", "dq_block_size": as given
    The nibbles are computed from the exact absmax; only the stored constants are double-quantized."""
    raise NotImplementedError("nf4.py: quantize_nf4()")


def dequantize_nf4(q):
    """float32 tensor of q["shape"]: nf4_code()[nibble] * absmax, where absmax is recovered from the
    double-quantized constants: absmax_q / 127 * dq_scale + absmax_mean."""
    raise NotImplementedError("nf4.py: dequantize_nf4()")
