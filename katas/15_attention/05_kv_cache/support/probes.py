"""What the KV-cache tests do beside the learner's code: build the model from a seed (TinyLM, the same
class as the test's), hand it and a cache to forward_step / generate, and look at the storage append
returns. Each function returns data (logits, tokens, counts, storage addresses) for the test to judge
against its own model; under `kata grade` this file runs in the learner's process (kata.probe), the
checks do not."""
import math

import torch


class TinyLM:
    """One attention layer with learned positions: small, float64, and counting the rows it projects."""

    def __init__(self, vocab=13, dim=18, heads=3, max_len=96, seed=0, dtype=torch.float64):
        g = torch.Generator().manual_seed(seed)
        r = lambda *s, sc=1.0: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype) * sc
        self.vocab, self.dim, self.heads, self.head_dim, self.dtype = vocab, dim, heads, dim // heads, dtype
        self.tok, self.pos = r(vocab, dim), r(max_len, dim)
        self.wq, self.wk, self.wv, self.wo = (r(dim, dim, sc=dim ** -0.5) for _ in range(4))
        self.head = r(dim, vocab, sc=dim ** -0.5)
        self.rows_projected = 0

    def embed(self, tokens, positions):
        positions = torch.as_tensor(positions)
        assert positions.dim() == 1 and positions.shape[0] == tokens.shape[1], (
            f"model.embed(tokens {tuple(tokens.shape)}, positions {tuple(positions.shape)}): positions must be a 1-D "
            "tensor with one position per token column")
        return self.tok[tokens] + self.pos[positions]

    def qkv(self, x):
        B, T, _ = x.shape
        self.rows_projected += B * T
        split = lambda y: y.view(B, T, self.heads, self.head_dim).transpose(1, 2)
        return split(x @ self.wq), split(x @ self.wk), split(x @ self.wv)

    def output(self, x, attn):
        B, H, T, dh = attn.shape
        return (x + attn.transpose(1, 2).reshape(B, T, H * dh) @ self.wo) @ self.head

    def forward(self, tokens):
        T = tokens.shape[1]
        x = self.embed(tokens, torch.arange(T))
        q, k, v = self.qkv(x)
        s = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        return self.output(x, torch.softmax(s, -1) @ v)



def forward_steps(mod, seed, toks, chunks, max_len):
    """TinyLM(seed) and a KVCache(B, heads, max_len, head_dim); forward_step on toks fed in chunks of
    `chunks` positions. Returns (the logits of each step, cache.length after the last)."""
    model = TinyLM(seed=seed)
    cache = mod.KVCache(toks.shape[0], model.heads, max_len, model.head_dim, dtype=model.dtype)
    out, start = [], 0
    for c in chunks:
        out.append(mod.forward_step(model, toks[:, start:start + c], cache))
        start += c
    return out, cache.length


def generate(mod, seed, prompt, n_new, max_len):
    """generate(TinyLM(seed), prompt, n_new, max_len=max_len). Returns (its result, the rows the model
    projected)."""
    model = TinyLM(seed=seed)
    got = mod.generate(model, prompt, n_new, max_len=max_len)
    return got, model.rows_projected


def append_storages(mod, B, H, max_len, dh, steps):
    """KVCache(B, H, max_len, dh, float32), then `steps` appends of one position of ones. Returns, per
    append, the data_ptr of the untyped storage of the k_all and v_all it returned."""
    cache = mod.KVCache(B, H, max_len, dh, dtype=torch.float32)
    out = []
    for _ in range(steps):
        k_all, v_all = cache.append(torch.ones(B, H, 1, dh), torch.ones(B, H, 1, dh))
        out.append((k_all.untyped_storage().data_ptr(), v_all.untyped_storage().data_ptr()))
    return out
