"""Wrong control: ignores offset, so every call rotates as if the sequence started at position 0."""
import torch
import triton
import triton.language as tl


@triton.jit
def rope_kernel(x_ptr, cos_ptr, sin_ptr, out_ptr, S, H, offset,
                stride_b, stride_s, stride_h, stride_d,
                HALF: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_HALF: tl.constexpr):
    pid = tl.program_id(0).to(tl.int64)
    b = pid // S
    s = pid % S
    h = tl.arange(0, BLOCK_H)
    i = tl.arange(0, BLOCK_HALF)
    mask_i = i < HALF
    mask = (h[:, None] < H) & mask_i[None, :]
    pos = s  # WRONG: forgets offset
    c = tl.load(cos_ptr + pos * HALF + i, mask=mask_i, other=0.0)[None, :]
    sn = tl.load(sin_ptr + pos * HALF + i, mask=mask_i, other=0.0)[None, :]
    src = x_ptr + b * stride_b + s * stride_s + h[:, None] * stride_h
    x1 = tl.load(src + i[None, :] * stride_d, mask=mask, other=0.0).to(tl.float32)
    x2 = tl.load(src + (i[None, :] + HALF) * stride_d, mask=mask, other=0.0).to(tl.float32)
    dst = out_ptr + (pid * H + h[:, None]) * (2 * HALF) + i[None, :]
    ty = out_ptr.dtype.element_ty
    tl.store(dst, (x1 * c - x2 * sn).to(ty), mask=mask)
    tl.store(dst + HALF, (x2 * c + x1 * sn).to(ty), mask=mask)


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, offset: int = 0) -> torch.Tensor:
    if x.dim() != 4 or x.shape[-1] % 2:
        raise ValueError(f"rope: x must be (B, S, H, D) with D even, got {tuple(x.shape)}")
    B, S, H, D = x.shape
    half = D // 2
    if cos.shape != sin.shape or cos.dim() != 2 or cos.shape[1] != half or cos.shape[0] < offset + S:
        raise ValueError(f"rope: cos and sin must be (P >= {offset + S}, {half}), got {tuple(cos.shape)}")
    cos, sin = cos.contiguous(), sin.contiguous()
    out = torch.empty((B, S, H, D), dtype=x.dtype, device=x.device)
    if out.numel():
        rope_kernel[(B * S,)](x, cos, sin, out, S, H, offset, *x.stride(), HALF=half,
                              BLOCK_H=triton.next_power_of_2(H), BLOCK_HALF=triton.next_power_of_2(half))
    return out
