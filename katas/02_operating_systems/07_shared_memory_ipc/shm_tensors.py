"""Tensors shared between processes through POSIX shared memory, the payload never copied. See README.md.

A handle is small plain data (a name, a shape, a dtype): it travels through a pipe or a queue; the bytes
stay where they are and every process maps them."""
import torch


def create(shape, dtype):
    """A new shared-memory segment holding a tensor of `shape` and `dtype` (zero-filled), as
    (tensor viewing the segment, handle). The handle is small, picklable plain data."""
    raise NotImplementedError("shm_tensors.py: create()")


def attach(handle):
    """In any process: a tensor viewing the segment `handle` names (no copy: writes are shared)."""
    raise NotImplementedError("shm_tensors.py: attach()")


def release(handle):
    """Remove the segment's name (the creator calls this once). Views already attached stay valid."""
    raise NotImplementedError("shm_tensors.py: release()")
