"""What the collate tests do beside the learner's Collator: build it, feed it batches, and look at the
storage its outputs live in and at the tensors its calls create. Each function returns data (storage
addresses, op names) for the test to judge; under `kata grade` this file runs in the learner's process
(kata.probe), the checks do not."""
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


def storages(module, args, kwargs, batches, keys):
    """Collator(*args, **kwargs), then one call per batch. Returns, per call, {key: the data_ptr of the
    untyped storage of output[key]}."""
    c = module.Collator(*args, **kwargs)
    out = []
    for b in batches:
        got = c(b)
        out.append({k: got[k].untyped_storage().data_ptr() for k in keys})
    return out


class Allocations(TorchDispatchMode):
    """Records aten ops whose outputs have storage that none of the inputs had (a new tensor)."""

    def __init__(self):
        super().__init__()
        self.ops = []

    @classmethod
    def _should_skip_dynamo(cls):  # noqa: D401  (see docs/authoring.md: avoids importing torch._dynamo)
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        ins = {t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.untyped_storage().nbytes() and \
                    t.untyped_storage().data_ptr() not in ins:
                self.ops.append(str(func.overloadpacket.__name__))
        return out


def allocations(module, args, kwargs, warmup, batches):
    """Collator(*args, **kwargs), one call on `warmup`, then a call per batch under Allocations.
    Returns the names of the ops that made a new tensor during those calls, in order."""
    c = module.Collator(*args, **kwargs)
    c(warmup)
    mode = Allocations()
    with mode:
        for b in batches:
            c(b)
    return list(mode.ops)
