"""Tensors through shared memory: the tensor `create` returns, and the one `attach` returns in another
process, must both point into the segment's mapping of /dev/shm (checked by address in /proc/self/maps:
no copy anywhere); writes travel both ways; the handle is small (the payload is never pickled); empty
and 0-d tensors work; an independent Python process can attach, write and exit without destroying the
segment (the resource tracker trap); and release leaves nothing in /dev/shm.

The calls, the look at /proc/self/maps and /dev/shm, the forked child and the independent process run
beside the learner's code (support/probes.py); they return what they saw, and every check is here."""
import math

import pytest
import torch

from kata.toolkit import expect

CASES = [((1000,), torch.float32), ((17, 33), torch.int64), ((4, 5, 6), torch.float16), ((64,), torch.bfloat16),
         ((3, 3), torch.uint8), ((), torch.float64), ((0,), torch.float32), ((3, 0, 5), torch.int32)]


def check_handle(raw, nbytes):
    """`raw`: the handle, pickled where it was made."""
    expect(len(raw) < 1024, f"the handle pickles to {len(raw)} bytes for a {nbytes}-byte tensor: it must carry the "
                            "segment's name, shape and dtype, never the payload")
    expect(b"torch" not in raw or b"_rebuild" not in raw,
           "the handle pickles a torch object: make it plain data (a name, a shape, a dtype name)")


@pytest.mark.parametrize("shape,dtype", CASES, ids=[f"{s}-{str(d)[6:]}" for s, d in CASES])
def test_create(kata, shape, dtype):
    r = kata.probe("probes.py").create_and_attach(kata.module(), shape, str(dtype).removeprefix("torch."))
    kind, got_shape, got_dtype = r["t"]
    expect(kind == "Tensor" and tuple(got_shape) == shape and got_dtype == str(dtype),
           f"create({shape}, {dtype}) returned {kind} {tuple(got_shape)} {got_dtype}")
    n = math.prod(shape)
    check_handle(r["handle"], n * r["element_size"])
    if n:
        expect(r["zero"], f"create({shape}, {dtype}) is not zero-filled")
        where = r["where"]
        expect(where is None, f"create({shape}, {dtype}): the tensor's data is in {where}, not in the shared segment: "
                              "view the segment's buffer (torch.frombuffer), do not copy it")
    _, u_shape, u_dtype = r["u"]
    expect(tuple(u_shape) == shape and u_dtype == str(dtype), f"attach of a {shape} {dtype} handle gave {tuple(u_shape)} "
                                                              f"{u_dtype}")
    if n:
        expect(r["same"], "attach in the creating process returned a copy: it must view the same segment")
        expect(r["u_last"] == 1, "a write through create's tensor is not seen through attach's")
    left = r["left"]
    expect(not left, f"after release, /dev/shm still holds {sorted(left)}: release must unlink the segment")


def test_another_process_shares_the_bytes(kata):
    # create((1_000_000,), float32) filled with arange; a forked child attaches, reports, writes -1 into every
    # other element; the parent then writes t[1] = 1234 and the child reads it
    out = kata.probe("probes.py").share_with_child(kata.module(), 1_000_000)
    r = out["first"]
    expect("error" not in r, f"attach in a child process failed: {r.get('error')}")
    expect(tuple(r["shape"]) == (1_000_000,) and r["sum"] == float(sum(range(1_000_000))),
           f"the child attached a tensor of shape {r['shape']} summing to {r['sum']}: not the parent's values")
    expect(r["where"] is None, f"in the child, attach's tensor is in {r['where']}, not in the shared segment: no copy")
    expect(out["parent_sees"], "the child wrote -1 into every other element; the parent does not see it: "
                               "attach must return a view of the segment, not a copy")
    r = out["second"]
    expect(r.get("t1") == 1234.0, f"the parent wrote 1234 after the child attached; the child reads {r}")
    expect(not out["left"], "after release, the segment is still in /dev/shm")


def test_independent_process_does_not_destroy_the_segment(kata):
    # create((1000,), float64); a separate Python process loads the learner's file, attaches, adds 1, exits
    r = kata.probe("probes.py").independent_process(kata.module(), 1000)
    expect(r["rc"] == 0, f"a separate Python process could not attach: {r['stderr'].strip()[-600:]}")
    expect(r["sum"] == 1000.0, f"after a separate process added 1 to every element, the creator sees a sum "
                               f"of {r['sum']}, expected 1000")
    expect(not r["gone"], "after a separate process attached and exited, the segment is gone from /dev/shm: Python's "
                          "resource tracker (before 3.13) unlinks segments an exiting process attached to. Unregister "
                          "them in attach (multiprocessing.resource_tracker.unregister(shm._name, 'shared_memory')), "
                          "or create SharedMemory with track=False on 3.13+.")
    expect(r["sum_again"] == 1000.0, "after the separate process exited, attaching again does not see its writes")
