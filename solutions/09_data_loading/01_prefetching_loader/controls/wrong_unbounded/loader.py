"""A prefetching data loader with worker processes (reference)."""
import multiprocessing as mp
import queue
import traceback


class WorkerError(Exception):
    """Raised in the consumer when dataset[i] raised in a worker, or a worker died."""


def _work(dataset, tasks, results):
    while True:
        job = tasks.get()
        if job is None:             # the stop signal
            return
        pos, index = job
        try:
            item = dataset[index]
        except BaseException as e:  # noqa: BLE001 (everything goes back to the consumer, as text)
            results.put((pos, False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
        else:
            results.put((pos, True, item))


class PrefetchLoader:
    def __init__(self, dataset, order, num_workers: int = 2, prefetch: int = 2):
        self.dataset = dataset
        self.order = list(order)
        self.num_workers = num_workers
        self.prefetch = prefetch
        self._gen = None
        self._workers = []
        self._queues = []

    def __iter__(self):
        self.close()                # a second iteration starts from scratch
        self._gen = self._run()
        return self._gen

    def _run(self):
        ctx = mp.get_context("fork")
        tasks, results = ctx.Queue(), ctx.Queue()
        self._queues = [tasks, results]
        self._workers = [ctx.Process(target=_work, args=(self.dataset, tasks, results), daemon=True)
                         for _ in range(self.num_workers)]
        for p in self._workers:
            p.start()
        bound, n = self.num_workers * self.prefetch, len(self.order)
        sent, ready = 0, {}
        try:
            for k in range(n):
                while sent < n:   # at most `bound` requested and not yet yielded
                    tasks.put((sent, self.order[sent]))
                    sent += 1
                while k not in ready:                  # items finish out of order: park them
                    try:
                        pos, ok, value = results.get(timeout=0.05)
                    except queue.Empty:
                        dead = [p for p in self._workers if p.exitcode is not None]
                        if dead:
                            raise WorkerError(f"worker {dead[0].pid} died (exit code {dead[0].exitcode}) while "
                                              f"item {k} (dataset[{self.order[k]}]) was outstanding") from None
                        continue
                    ready[pos] = (ok, value)
                ok, value = ready.pop(k)
                if not ok:
                    raise WorkerError(f"dataset[{self.order[k]}] raised in a worker: {value}")
                yield value
        finally:
            self._stop()

    def _stop(self):
        workers, self._workers = self._workers, []
        queues, self._queues = self._queues, []
        if not workers:
            return
        tasks, results = queues
        for _ in workers:
            try:
                tasks.put(None)
            except (ValueError, OSError):
                pass
        for p in workers:
            p.join(timeout=1.0)
            if p.exitcode is None:     # stuck (e.g. blocked writing a big result nobody reads)
                p.terminate()
                p.join()
        for q in queues:
            q.cancel_join_thread()     # do not wait at exit to flush what no one will read
            q.close()

    def close(self) -> None:
        gen, self._gen = self._gen, None
        if gen is not None:
            gen.close()                # runs the generator's finally: _stop()
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
