"""Collate variable-length text and audio into preallocated, padded buffers with masks. See README.md."""
import torch


class Collator:
    def __init__(self, max_batch: int, max_text: int, max_audio: int, pad_id: int = 0, multiple: int = 8):
        """Allocate every buffer once, here: tokens (int64), text_mask (bool), text_lengths (int64), audio
        (float32), audio_mask (bool), audio_lengths (int64), each for max_batch samples."""
        raise NotImplementedError("collate.py: Collator.__init__()")

    def __call__(self, samples) -> dict:
        """samples: a list of (tokens, audio) pairs of 1-D tensors (tokens any integer dtype, audio
        float32, any strides). Return a dict of views of the buffers: "tokens" (B, T), "text_mask" (B, T),
        "text_lengths" (B,), "audio" (B, A), "audio_mask" (B, A), "audio_lengths" (B,), with T and A the
        longest text and audio in the batch rounded up to a multiple of `multiple`. Padding is pad_id in
        tokens and 0.0 in audio; masks are True on real elements. ValueError if the batch does not fit.
        No tensor may be allocated here once the buffers exist."""
        raise NotImplementedError("collate.py: Collator.__call__()")
