"""Train a few steps with the learner's FSDP under torchrun (gloo on CPUs, NCCL on GPUs) and compare the
shard with a single model trained on the whole batch. From the repository root:

    torchrun --nproc_per_node=2 katas/18_distributed/04_fsdp_style/support/torchrun_demo.py
"""
import importlib.util
import math
import os
import pathlib

import torch
import torch.distributed as dist
from torch import nn

here = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("fsdp", os.environ.get("KATA_FILE", here / "fsdp.py"))
fsdp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fsdp)

cuda = torch.cuda.is_available()
dist.init_process_group("nccl" if cuda else "gloo")
rank, n = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
if cuda:
    torch.cuda.set_device(device)


def make():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(512, 2048), nn.GELU(), nn.Linear(2048, 511)).to(device)


ref, fs = make(), fsdp.FSDP(make())
opt, ref_opt = torch.optim.SGD(fs.parameters(), lr=0.1), torch.optim.SGD(ref.parameters(), lr=0.1)
P = sum(p.numel() for p in ref.parameters())
S = math.ceil(P / n)
for step in range(3):
    xs = [torch.randn(8, 512, device=device, generator=torch.Generator(device).manual_seed(10 * step + r)) for r in range(n)]
    opt.zero_grad()
    fs(xs[rank]).square().mean().backward()
    opt.step()
    ref_opt.zero_grad()
    ref(torch.cat(xs)).square().mean().backward()
    ref_opt.step()
    flat = nn.functional.pad(torch.cat([p.detach().reshape(-1) for p in ref.parameters()]), (0, n * S - P))
    err = (fs.shard.detach() - flat[rank * S:(rank + 1) * S]).abs().max().item()
    print(f"rank {rank}/{n} step {step}: max |shard - single process| = {err:.3g}", flush=True)
    assert err < 1e-4
dist.destroy_process_group()
