"""Wrong: asks for a segment of exactly nbytes, so an empty tensor (a shape with a 0) raises ValueError."""
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
    shm = shared_memory.SharedMemory(create=True, size=nbytes)  # 0 for an empty tensor: SharedMemory refuses it
    _segments[shm.name] = shm
    handle = {"name": shm.name, "shape": shape, "dtype": str(dtype).removeprefix("torch.")}
    return _view(shm, shape, dtype), handle


def attach(handle):
    name = handle["name"]
    shm = _segments.get(name)
    if shm is None:
        shm = shared_memory.SharedMemory(name=name)
        try:
            resource_tracker.unregister(shm._name, "shared_memory")
        except Exception:  # noqa: BLE001  (no tracker running: nothing to undo)
            pass
        _segments[name] = shm
    return _view(shm, handle["shape"], getattr(torch, handle["dtype"]))


def release(handle):
    shm = _segments.get(handle["name"]) or shared_memory.SharedMemory(name=handle["name"])
    shm.unlink()
