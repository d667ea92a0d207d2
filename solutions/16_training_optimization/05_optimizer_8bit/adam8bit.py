"""Adam with its two moment estimates stored in 8 bits per value, block-wise scaled. See README.md."""
import math

import torch


def dynamic_code():
    """256 possible codes, 253 distinct values in [-1, 1], sorted: the finite fp8 e4m3 values / 448.
    Dense near 0 and sparse near +-1, like a float: relative precision about 6% over five decades."""
    vals = torch.arange(256, dtype=torch.int64).to(torch.uint8).view(torch.float8_e4m3fn).float()
    vals = torch.unique(vals[torch.isfinite(vals)])   # sorted; +0 and -0 collapse
    return vals / 448.0


def quantize_blockwise(x, block_size, code):
    """(codes uint8 of x.numel(), absmax float32 per block of block_size consecutive elements)."""
    flat = x.detach().reshape(-1).float()
    n = flat.numel()
    nb = -(-n // block_size)
    padded = torch.zeros(nb * block_size, dtype=torch.float32)
    padded[:n] = flat
    blocks = padded.view(nb, block_size)
    absmax = blocks.abs().amax(dim=1)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    normed = (blocks / safe[:, None]).reshape(-1)[:n]
    mids = (code[1:] + code[:-1]) / 2
    codes = torch.bucketize(normed, mids).to(torch.uint8)
    return codes, absmax


def dequantize_blockwise(codes, absmax, shape, block_size, code):
    n = codes.numel()
    scale = absmax.repeat_interleave(block_size)[:n]
    return (code[codes.long()] * scale).reshape(shape)


class Adam8bit:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, block_size=64):
        self.params = [p for p in params]
        self.lr, self.betas, self.eps, self.block_size = lr, betas, eps, block_size
        self.code = dynamic_code()
        self.state = {}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        b1, b2 = self.betas
        for p in self.params:
            if p.grad is None:
                continue
            g = p.grad.float()
            st = self.state.get(p)
            if st is None:
                m = torch.zeros_like(g)
                v = torch.zeros_like(g)
                t = 0
            else:
                t = st["step"]
                m = dequantize_blockwise(*st["m"], g.shape, self.block_size, self.code)
                v = dequantize_blockwise(*st["v"], g.shape, self.block_size, self.code)
            t += 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat = m / (1 - b1 ** t)
            v_hat = v / (1 - b2 ** t)
            p.add_(-self.lr * m_hat / (v_hat.sqrt() + self.eps))
            self.state[p] = {"step": t,
                             "m": quantize_blockwise(m, self.block_size, self.code),
                             "v": quantize_blockwise(v, self.block_size, self.code)}
