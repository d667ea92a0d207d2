"""Wrong: attach leaves the segment registered with the attaching process's resource tracker (Python < 3.13), which unlinks it when that process's tracker exits: an independent consumer destroys the producer's segment."""
import math
from multiprocessing import resource_tracker, shared_memory

import torch

_segments = {}  # name -> SharedMemory, kept open for the views


def _view(shm, shape, dtype):
    count = math.prod(shape)
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(shm.buf, dtype=dtype, count=count).view(shape)


def create(shape, dtype):
    shape = tuple(int(s) for s in shape)
    nbytes = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
    shm = shared_memory.SharedMemory(create=True, size=max(nbytes, 1))
    _segments[shm.name] = shm
    handle = {"name": shm.name, "shape": shape, "dtype": str(dtype).removeprefix("torch.")}
    return _view(shm, shape, dtype), handle


def attach(handle):
    name = handle["name"]
    shm = _segments.get(name)
    if shm is None:
        shm = shared_memory.SharedMemory(name=name)
        _segments[name] = shm
    return _view(shm, handle["shape"], getattr(torch, handle["dtype"]))


def release(handle):
    shm = _segments.get(handle["name"]) or shared_memory.SharedMemory(name=handle["name"])
    shm.unlink()
