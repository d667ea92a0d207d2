"""Run the learner's ZeroAdam under torchrun (gloo on CPUs, NCCL on GPUs) against torch.optim.Adam on
the averaged gradients, and print the optimizer state each rank keeps. From the repository root:

    torchrun --nproc_per_node=2 katas/18_distributed/03_zero_sharded_optimizer/support/torchrun_demo.py
"""
import importlib.util
import os
import pathlib

import torch
import torch.distributed as dist

here = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("zero", os.environ.get("KATA_FILE", here / "zero.py"))
zero = importlib.util.module_from_spec(spec)
spec.loader.exec_module(zero)

cuda = torch.cuda.is_available()
dist.init_process_group("nccl" if cuda else "gloo")
rank, n = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
if cuda:
    torch.cuda.set_device(device)
shapes = [(4096, 1024), (1024,), (1024, 4099), (7,)]
torch.manual_seed(0)
mine = [torch.nn.Parameter(torch.randn(s, device=device)) for s in shapes]
ref = [torch.nn.Parameter(p.detach().clone()) for p in mine]
opt, ref_opt = zero.ZeroAdam(mine, lr=1e-3), torch.optim.Adam(ref, lr=1e-3)
for step in range(3):
    grads = [torch.randn(s, device=device, generator=torch.Generator(device).manual_seed(10 * step + rank)) for s in shapes]
    for p, q, g in zip(mine, ref, grads):
        p.grad = g.clone()
        q.grad = g.clone()
        dist.all_reduce(q.grad)
        q.grad /= n
    opt.step()
    ref_opt.step()
    err = max((a - b).abs().max().item() for a, b in zip(mine, ref))
    print(f"rank {rank}/{n} step {step}: max |ZeroAdam - Adam| = {err:.3g}", flush=True)
    assert err < 1e-4
state = sum(t.numel() * t.element_size() for t in vars(opt).values() if isinstance(t, torch.Tensor))
print(f"rank {rank}: tensors held directly by the optimizer: {state} bytes; full Adam state: "
      f"{2 * sum(p.numel() * p.element_size() for p in mine)} bytes", flush=True)
dist.destroy_process_group()
