"""Collate variable-length text and audio into preallocated, padded buffers with masks (reference)."""
import torch


class Collator:
    def __init__(self, max_batch: int, max_text: int, max_audio: int, pad_id: int = 0, multiple: int = 8):
        self.max_batch, self.max_text, self.max_audio = max_batch, max_text, max_audio
        self.pad_id, self.multiple = pad_id, multiple
        self.tokens = torch.full((max_batch, max_text), pad_id, dtype=torch.int64)
        self.text_mask = torch.zeros((max_batch, max_text), dtype=torch.bool)
        self.text_lengths = torch.zeros(max_batch, dtype=torch.int64)
        self.audio = torch.zeros((max_batch, max_audio), dtype=torch.float32)
        self.audio_mask = torch.zeros((max_batch, max_audio), dtype=torch.bool)
        self.audio_lengths = torch.zeros(max_batch, dtype=torch.int64)

    def _round(self, n, cap):
        return min(-(-n // self.multiple) * self.multiple, cap)

    def __call__(self, samples) -> dict:
        b = len(samples)
        if b > self.max_batch:
            raise ValueError(f"{b} samples: the buffers hold {self.max_batch}")
        tl = [int(t.shape[0]) for t, _ in samples]   # Python ints: no tensor work
        al = [int(a.shape[0]) for _, a in samples]
        if max(tl, default=0) > self.max_text or max(al, default=0) > self.max_audio:
            raise ValueError(f"a sample is longer than the buffers ({max(tl, default=0)} tokens of {self.max_text}, "
                             f"{max(al, default=0)} samples of {self.max_audio})")
        T, A = self._round(max(tl, default=0), self.max_text), self._round(max(al, default=0), self.max_audio)
        tokens, tmask = self.tokens[:b, :T], self.text_mask[:b, :T]
        audio, amask = self.audio[:b, :A], self.audio_mask[:b, :A]
        tmask.fill_(False)
        amask.fill_(False)
        for i, ((t, a), n, m) in enumerate(zip(samples, tl, al)):
            tokens[i, :n].copy_(t)       # copy_ converts the dtype in place: no temporary
            tmask[i, :n] = True
            audio[i, :m].copy_(a)
            amask[i, :m] = True
            self.text_lengths[i] = n
            self.audio_lengths[i] = m
        return {"tokens": tokens, "text_mask": tmask, "text_lengths": self.text_lengths[:b],
                "audio": audio, "audio_mask": amask, "audio_lengths": self.audio_lengths[:b]}
