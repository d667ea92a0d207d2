"""A serial loader: correct, but no worker and no prefetch (naive control)."""


class WorkerError(Exception):
    """Raised in the consumer when dataset[i] raised in a worker, or a worker died."""


class PrefetchLoader:
    def __init__(self, dataset, order, num_workers: int = 2, prefetch: int = 2):
        self.dataset = dataset
        self.order = list(order)

    def __iter__(self):
        for i in self.order:
            try:
                item = self.dataset[i]
            except Exception as e:
                raise WorkerError(f"dataset[{i}] raised: {type(e).__name__}: {e}") from e
            yield item

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
