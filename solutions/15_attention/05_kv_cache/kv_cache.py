"""A KV cache and incremental decoding for a small attention model. See README.md."""
import torch


class KVCache:
    """Preallocated keys and values for `batch` sequences of up to `max_len` positions."""

    def __init__(self, batch, heads, max_len, head_dim, dtype=torch.float32):
        self.k = torch.zeros(batch, heads, max_len, head_dim, dtype=dtype)
        self.v = torch.zeros(batch, heads, max_len, head_dim, dtype=dtype)
        self.max_len = max_len
        self.length = 0

    def append(self, k, v):
        """Store k, v (B, H, T, dh) at positions length..length+T-1; return views of all cached K and V."""
        t = k.shape[-2]
        if self.length + t > self.max_len:
            raise ValueError(f"KV cache full: {self.length} + {t} positions > max_len {self.max_len}")
        self.k[:, :, self.length:self.length + t] = k
        self.v[:, :, self.length:self.length + t] = v
        self.length += t
        return self.k[:, :, :self.length], self.v[:, :, :self.length]


def forward_step(model, tokens, cache):
    """Logits (B, T, V) for `tokens` (B, T), which continue the sequences held in `cache`."""
    T = tokens.shape[1]
    start = cache.length
    positions = torch.arange(start, start + T)
    x = model.embed(tokens, positions)
    q, k, v = model.qkv(x)
    k_all, v_all = cache.append(k, v)
    L = k_all.shape[-2]
    s = q @ k_all.transpose(-2, -1) / q.shape[-1] ** 0.5
    future = torch.arange(L)[None, :] > positions[:, None]      # key j is after query position i
    s = s.masked_fill(future, float("-inf"))
    attn = torch.softmax(s, dim=-1) @ v_all
    return model.output(x, attn)


def generate(model, prompt, n_new, max_len):
    """Greedy decoding: prefill the prompt in one step, then one token per step. Returns (B, T0 + n_new)."""
    B = prompt.shape[0]
    cache = KVCache(B, model.heads, max_len, model.head_dim, dtype=model.dtype)
    logits = forward_step(model, prompt, cache)
    out = [prompt]
    for _ in range(n_new):
        nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
        out.append(nxt)
        if len(out) - 1 == n_new:
            break
        logits = forward_step(model, nxt, cache)
    return torch.cat(out, dim=1)
