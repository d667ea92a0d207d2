"""Train a few steps with the learner's BucketedDDP under torchrun (gloo on CPUs, NCCL on GPUs) and
compare the gradients with torch's own DistributedDataParallel. From the repository root:

    torchrun --nproc_per_node=2 katas/18_distributed/02_ddp_bucketing/support/torchrun_demo.py
"""
import importlib.util
import os
import pathlib

import torch
import torch.distributed as dist
from torch import nn

here = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("ddp", os.environ.get("KATA_FILE", here / "ddp.py"))
ddp_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ddp_mod)

cuda = torch.cuda.is_available()
dist.init_process_group("nccl" if cuda else "gloo")
rank, n = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
if cuda:
    torch.cuda.set_device(device)


def make():
    torch.manual_seed(0)
    return nn.Sequential(*[nn.Sequential(nn.Linear(1024, 1024), nn.GELU()) for _ in range(8)]).to(device)


mine, theirs = make(), make()
ddp = ddp_mod.BucketedDDP(mine, 25 << 20)
ref = nn.parallel.DistributedDataParallel(theirs, device_ids=[device] if cuda else None)
for step in range(3):
    x = torch.randn(64, 1024, device=device, generator=torch.Generator(device).manual_seed(10 * step + rank))
    mine.zero_grad()
    theirs.zero_grad()
    ddp(x).square().mean().backward()
    ddp.finish()
    ref(x).square().mean().backward()
    err = max((a.grad - b.grad).abs().max().item() for a, b in zip(mine.parameters(), theirs.parameters()))
    print(f"rank {rank}/{n} step {step}: max |grad - DDP grad| = {err:.3g}", flush=True)
    assert err < 1e-4, "BucketedDDP's gradients differ from DistributedDataParallel's"
dist.destroy_process_group()
