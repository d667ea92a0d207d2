"""Data parallelism with gradient buckets all-reduced during backward. See README.md."""
import torch  # noqa: F401
import torch.distributed as dist  # noqa: F401


class BucketedDDP:
    """Wrap `module` (the same parameters on every rank) so that after

        loss = ddp(x).sum(); loss.backward(); ddp.finish()

    every parameter's .grad holds the MEAN over all ranks of the gradients the ranks computed.

    Buckets: walk the parameters in REVERSE order of module.parameters() (roughly the order backward
    produces their gradients) and put them into buckets greedily: add parameters to the current bucket
    until its size in bytes is >= bucket_cap_bytes, then start the next one (the last may be smaller).
    During backward, as soon as the last gradient of a bucket is ready, launch that bucket's all-reduce
    (one dist.all_reduce call per bucket, async_op=True) without waiting for it. finish() waits for them
    all and writes the averaged gradients into .grad. It must work for any number of steps."""

    def __init__(self, module, bucket_cap_bytes):
        self.module = module
        raise NotImplementedError("ddp.py: BucketedDDP.__init__()")

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def finish(self):
        raise NotImplementedError("ddp.py: BucketedDDP.finish()")
