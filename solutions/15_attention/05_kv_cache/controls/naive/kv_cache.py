"""Naive control: correct, but the cache grows by torch.cat (a fresh copy every step) and every step
recomputes the projections of the whole sequence so far, so a generation costs O(n^2) projected rows."""
import torch


class KVCache:
    def __init__(self, batch, heads, max_len, head_dim, dtype=torch.float32):
        self.k = torch.zeros(batch, heads, 0, head_dim, dtype=dtype)
        self.v = torch.zeros(batch, heads, 0, head_dim, dtype=dtype)
        self.max_len, self.length, self.tokens = max_len, 0, None

    def append(self, k, v):
        if self.length + k.shape[-2] > self.max_len:
            raise ValueError("KV cache full")
        self.k = torch.cat([self.k, k], dim=2)
        self.v = torch.cat([self.v, v], dim=2)
        self.length += k.shape[-2]
        return self.k, self.v


def forward_step(model, tokens, cache):
    T = tokens.shape[1]
    start = cache.length
    history = tokens if cache.tokens is None else torch.cat([cache.tokens, tokens], dim=1)
    cache.tokens = history
    L = history.shape[1]
    x_all = model.embed(history, torch.arange(L))
    q, k, v = model.qkv(x_all)
    cache.append(k[:, :, start:], v[:, :, start:])
    s = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    s = s.masked_fill(torch.arange(L)[None, :] > torch.arange(L)[:, None], float("-inf"))
    attn = torch.softmax(s, dim=-1) @ v
    return model.output(x_all[:, start:], attn[:, :, start:])


def generate(model, prompt, n_new, max_len):
    cache = KVCache(prompt.shape[0], model.heads, max_len, model.head_dim, dtype=model.dtype)
    logits = forward_step(model, prompt, cache)
    out = [prompt]
    for i in range(n_new):
        nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
        out.append(nxt)
        if i + 1 < n_new:
            logits = forward_step(model, nxt, cache)
    return torch.cat(out, dim=1)
