"""A prefetching data loader with worker processes. See README.md for the rules."""
import multiprocessing as mp
import queue
import traceback


class WorkerError(Exception):
    """Raised in the consumer when dataset[i] raised in a worker, or a worker died."""


class PrefetchLoader:
    def __init__(self, dataset, order, num_workers: int = 2, prefetch: int = 2):
        """Iterating yields dataset[i] for each i in `order`, in that order, computed in `num_workers`
        worker processes (multiprocessing's "fork" context), with at most num_workers * prefetch items
        requested and not yet yielded."""
        self.dataset = dataset
        self.order = list(order)
        self.num_workers = num_workers
        self.prefetch = prefetch

    def __iter__(self):
        raise NotImplementedError("loader.py: PrefetchLoader.__iter__()")

    def close(self) -> None:
        """Stop and join every worker (idempotent): also what leaving a `with` block does."""
        raise NotImplementedError("loader.py: PrefetchLoader.close()")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
