"""Naive control: no checkpointing at all (fn runs with autograd recording everything): correct
gradients, but every intermediate activation stays alive until backward."""


def checkpoint(fn, *args):
    return fn(*args)


def checkpoint_sequential(layers, segments, x):
    n = len(layers)
    base, extra = divmod(n, segments)
    start = 0
    for s in range(segments):
        size = base + (1 if s < extra else 0)
        chunk = layers[start:start + size]
        start += size

        def run(h, chunk=chunk):
            for layer in chunk:
                h = layer(h)
            return h

        x = checkpoint(run, x)
    return x
