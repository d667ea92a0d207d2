"""A KV cache and incremental decoding for a small attention model. See README.md.

The model (built by the tests) offers three pieces; you write the attention between them:
    x = model.embed(tokens, positions)   tokens (B, T) long, positions (T,) long  -> x (B, T, D)
    q, k, v = model.qkv(x)               each (B, model.heads, T, model.head_dim)
    logits = model.output(x, attn)       attn (B, heads, T, head_dim)            -> (B, T, vocab)
model.forward(tokens) runs all of it on a whole sequence without a cache (your oracle when testing).
Attention is causal, scaled by 1/sqrt(head_dim); torch.softmax is allowed here."""
import torch  # noqa: F401


class KVCache:
    """Keys and values for `batch` sequences of up to `max_len` positions, allocated once up front."""

    def __init__(self, batch, heads, max_len, head_dim, dtype=torch.float32):
        raise NotImplementedError("kv_cache.py: KVCache.__init__()")

    def append(self, k, v):
        """Store k, v (B, H, T, dh) at positions length .. length+T-1 and advance `self.length` by T.
        Return (k_all, v_all): views of every cached position so far, (B, H, length, dh).
        Raise ValueError if the cache would exceed max_len. Never reallocate or concatenate."""
        raise NotImplementedError("kv_cache.py: KVCache.append()")


def forward_step(model, tokens, cache):
    """Run `tokens` (B, T), the continuation of the sequences in `cache` (positions cache.length ..
    cache.length + T - 1), through the model: embed at the right positions, project, append k and v
    to the cache, attend (causally) over everything cached, and return the logits (B, T, vocab).
    T > 1 is a prefill (or a chunk of one); T == 1 is a decode step."""
    raise NotImplementedError("kv_cache.py: forward_step()")


def generate(model, prompt, n_new, max_len):
    """Greedy decoding: one forward_step for the whole prompt (B, T0), then one per new token, each
    time taking the argmax of the last position's logits. Returns (B, T0 + n_new) token ids."""
    raise NotImplementedError("kv_cache.py: generate()")
