"""A fused elementwise chain in Triton (naive control).

Correct, but unfused: three kernels, one per step, each writing its result to memory for the next to
read back. t = alpha*x + y, s = silu(t), out = s * z: reads x, y, t, s, z and writes t, s, out, 8n
elements where 4n suffice."""
import torch
import triton
import triton.language as tl

BLOCK_SIZE = 1024


@triton.jit
def axpy_kernel(x_ptr, y_ptr, t_ptr, alpha, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask).to(tl.float32)
    y = tl.load(y_ptr + offsets, mask=mask).to(tl.float32)
    tl.store(t_ptr + offsets, alpha * x + y, mask=mask)


@triton.jit
def silu_kernel(t_ptr, s_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    t = tl.load(t_ptr + offsets, mask=mask)
    tl.store(s_ptr + offsets, t / (1.0 + tl.exp(-t)), mask=mask)


@triton.jit
def mul_kernel(s_ptr, z_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    s = tl.load(s_ptr + offsets, mask=mask)
    z = tl.load(z_ptr + offsets, mask=mask).to(tl.float32)
    tl.store(out_ptr + offsets, (s * z).to(out_ptr.dtype.element_ty), mask=mask)


def fused(x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, alpha: float) -> torch.Tensor:
    if not (x.shape == y.shape == z.shape) or not (x.dtype == y.dtype == z.dtype):
        raise ValueError("fused: x, y, z must share shape and dtype")
    x, y, z = x.contiguous(), y.contiguous(), z.contiguous()
    out = torch.empty_like(x)
    n = out.numel()
    if n:
        t = torch.empty(n, dtype=torch.float32, device=x.device)   # float32 intermediates
        s = torch.empty(n, dtype=torch.float32, device=x.device)
        grid = (triton.cdiv(n, BLOCK_SIZE),)
        axpy_kernel[grid](x, y, t, float(alpha), n, BLOCK_SIZE=BLOCK_SIZE)
        silu_kernel[grid](t, s, n, BLOCK_SIZE=BLOCK_SIZE)
        mul_kernel[grid](s, z, out, n, BLOCK_SIZE=BLOCK_SIZE)
    return out
