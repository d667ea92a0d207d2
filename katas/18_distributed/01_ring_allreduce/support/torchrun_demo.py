"""Run the learner's ring_allreduce under torchrun (gloo on CPUs, NCCL on GPUs) and compare it with
dist.all_reduce. From the repository root:

    torchrun --nproc_per_node=2 katas/18_distributed/01_ring_allreduce/support/torchrun_demo.py
"""
import importlib.util
import os
import pathlib

import torch
import torch.distributed as dist

here = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("ring", os.environ.get("KATA_FILE", here / "ring.py"))
ring = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ring)

cuda = torch.cuda.is_available()
dist.init_process_group("nccl" if cuda else "gloo")
rank, n = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
if cuda:
    torch.cuda.set_device(device)
for length in (1, n + 1, 1 << 20, (1 << 24) + 3):
    x = torch.randn(length, device=device, generator=torch.Generator(device).manual_seed(rank))
    want = x.clone()
    dist.all_reduce(want)
    ring.ring_allreduce(x)
    err = (x - want).abs().max().item()
    print(f"rank {rank}/{n} length {length}: max |ring - all_reduce| = {err:.3g}", flush=True)
    assert err <= 1e-4 * (1 + want.abs().max().item()), "ring_allreduce differs from dist.all_reduce"
dist.destroy_process_group()
