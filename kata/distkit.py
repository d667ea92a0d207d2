"""Run a function on N ranks of torch.distributed (gloo, this machine) and bring back what each returned.

    results = launch(world_size, fn, *args, timeout=30)

starts `world_size` processes (forked from the test's own child, so nothing is imported twice), sets the
usual torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT on a free port),
initialises the default process group with the gloo backend, wraps torch.distributed's communication
calls to COUNT them, and calls `fn(*args)` in every rank. `results[r]` is a `Rank` with the value rank r
returned (pickled back), the calls and bytes it communicated (`comm`) and the ordered log of its calls
and the test's own marks (`events`).

Every rank is reaped whatever happens. A rank that raises fails the test with its traceback (the
learner's frames first) and names the rank; ranks still running past `timeout` fail it as a TIME-OUT
that names the ranks that never finished (a send without a matching receive, a collective one rank
skipped). A NotImplementedError in any rank is raised again in the test, so a stub reads "not
implemented yet".

Bytes are counted per rank, as the bytes that rank puts on the wire:
  send / isend (also inside batch_isend_irecv)   the tensor's bytes
  all_reduce                                     2 (N-1)/N x the tensor's bytes (what a ring sends)
  reduce_scatter(_tensor)                        (N-1)/N x the input's bytes
  all_gather(_into_tensor)                       (N-1)/N x the output's bytes
  broadcast, reduce, all_to_all, ...             the tensor's bytes (counted, not modelled)
`comm[op]` holds {"calls": n, "payload": bytes given to the call, "sent": bytes on the wire as above}.

Inside a rank, the test's own code may call `mark("label")` to put a label into the event log (e.g.
"backward starts"), to check when a collective was launched relative to the computation.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import select
import signal
import socket
import time
import traceback
from dataclasses import dataclass, field

_EVENTS: list = []   # in a rank: the ordered log of communication calls and marks
_COMM: dict = {}     # in a rank: op -> {"calls", "payload", "sent"}
_WORLD = [1]
_DEPTH = [0]     # > 0 while inside a counted call


class RankFailed(AssertionError):
    """A rank raised, died or hung: the message names it and says what happened."""
    learner_facing = True


@dataclass
class Rank:
    rank: int
    value: object
    comm: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    seconds: float = 0.0

    def sent(self, *ops) -> int:
        """Bytes this rank put on the wire, over `ops` (all ops when none are named)."""
        return int(sum(v["sent"] for k, v in self.comm.items() if not ops or k in ops))

    def calls(self, *ops) -> int:
        return int(sum(v["calls"] for k, v in self.comm.items() if not ops or k in ops))


def mark(label: str) -> None:
    """Put `label` into this rank's event log (between the communication calls around it)."""
    _EVENTS.append(("mark", label, 0))


def _nbytes(t) -> int:
    return t.numel() * t.element_size()


def _record(op: str, payload: int, sent: float) -> None:
    c = _COMM.setdefault(op, {"calls": 0, "payload": 0, "sent": 0.0})
    c["calls"] += 1
    c["payload"] += payload
    c["sent"] += sent
    _EVENTS.append((op, payload, int(round(sent))))


def _first_tensor(args, kwargs, *names):
    import torch
    for n in names:
        if n in kwargs:
            return kwargs[n]
    for a in args:
        if isinstance(a, torch.Tensor) or isinstance(a, (list, tuple)):
            return a
    return None


def _size(x) -> int:
    if isinstance(x, (list, tuple)):
        return sum(_size(t) for t in x)
    return _nbytes(x) if x is not None else 0


def _install_counters() -> None:
    """Wrap torch.distributed's communication calls (in the package and in distributed_c10d) so that
    every call is counted, however the learner's module imported them."""
    import torch.distributed as dist
    import torch.distributed.distributed_c10d as c10d

    def frac() -> float:
        n = _WORLD[0]
        return (n - 1) / n if n > 1 else 0.0

    def p2p_send(args, kwargs):
        b = _size(_first_tensor(args, kwargs, "tensor"))
        return b, b

    def p2p_recv(args, kwargs):
        b = _size(_first_tensor(args, kwargs, "tensor"))
        return b, 0

    def allreduce(args, kwargs):
        b = _size(_first_tensor(args, kwargs, "tensor"))
        return b, 2 * frac() * b

    def reduce_scatter(args, kwargs):
        # reduce_scatter(output, input_list) / reduce_scatter_tensor(output, input)
        inp = kwargs.get("input_list", kwargs.get("input"))
        if inp is None and len(args) > 1:
            inp = args[1]
        b = _size(inp)
        return b, frac() * b

    def all_gather(args, kwargs):
        # all_gather(tensor_list, tensor) / all_gather_into_tensor(output_tensor, input_tensor)
        out = kwargs.get("tensor_list", kwargs.get("output_tensor"))
        if out is None and args:
            out = args[0]
        b = _size(out)
        return b, frac() * b

    def whole(args, kwargs):
        b = _size(_first_tensor(args, kwargs, "tensor"))
        return b, b

    rules = {"send": p2p_send, "isend": p2p_send, "recv": p2p_recv, "irecv": p2p_recv,
             "all_reduce": allreduce, "reduce_scatter": reduce_scatter,
             "reduce_scatter_tensor": reduce_scatter, "all_gather": all_gather,
             "all_gather_into_tensor": all_gather, "all_gather_single": all_gather,
             "broadcast": whole, "reduce": whole, "all_to_all": whole, "all_to_all_single": whole,
             "scatter": whole, "gather": whole}
    originals = {}
    for name, rule in rules.items():
        orig = getattr(c10d, name, None)
        if orig is None:
            continue
        originals[name] = orig

        def wrapper(*args, _orig=orig, _rule=rule, _name=name, **kwargs):
            if _DEPTH[0]:  # a call made inside another counted call (send is isend + wait): count once
                return _orig(*args, **kwargs)
            payload, sent = _rule(args, kwargs)
            _record(_name, payload, sent)
            _DEPTH[0] += 1
            try:
                return _orig(*args, **kwargs)
            finally:
                _DEPTH[0] -= 1

        wrapper.__name__ = wrapper.__qualname__ = name
        wrapper.__wrapped__ = orig
        setattr(c10d, name, wrapper)
        if getattr(dist, name, None) is orig:
            setattr(dist, name, wrapper)

    # batch_isend_irecv checks op identity against c10d.isend / irecv: count each op, pass it through.
    orig_batch = c10d.batch_isend_irecv

    def batch_isend_irecv(p2p_op_list):
        for op in p2p_op_list:
            f = op.op
            name = getattr(f, "__name__", "")
            b = _nbytes(op.tensor)
            _record("isend" if name == "isend" else "irecv", b, b if name == "isend" else 0)
            op.op = originals.get(name, getattr(f, "__wrapped__", f))
        _DEPTH[0] += 1
        try:
            return orig_batch(p2p_op_list)
        finally:
            _DEPTH[0] -= 1

    c10d.batch_isend_irecv = batch_isend_irecv
    dist.batch_isend_irecv = batch_isend_irecv


def _rank_main(rank: int, world: int, port: int, conn, release, fn, args, kwargs, threads: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.close(release[1])  # only the launcher holds the write end: its closing (or death) releases us
    payload = None
    t0 = time.perf_counter()
    try:
        os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                          LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        import datetime

        import torch
        import torch.distributed as dist
        torch.set_num_threads(threads)
        store = dist.TCPStore("127.0.0.1", port, world, is_master=(rank == 0),
                              timeout=datetime.timedelta(seconds=600))
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=600))
        _WORLD[0] = world
        _install_counters()
        value = fn(*args, **kwargs)
        payload = ("ok", value, _COMM, _EVENTS, time.perf_counter() - t0)
    except BaseException as e:  # noqa: BLE001 - every failure goes back to the test as data
        tb = traceback.format_exc()
        payload = ("raised", (type(e).__name__, str(e), tb, isinstance(e, NotImplementedError)), _COMM, _EVENTS,
                   time.perf_counter() - t0)
    try:
        data = pickle.dumps(payload)
    except Exception as e:  # noqa: BLE001
        data = pickle.dumps(("raised", ("PicklingError", f"rank {rank} returned a value that cannot be sent back: {e}",
                                        "", False), {}, [], 0.0))
    try:
        conn.send_bytes(data)
        conn.close()
        # Stay connected until every rank is done: a rank that left would make its peers fail with
        # "connection closed" instead of showing the real culprit (the rank that raised or hangs).
        os.read(release[0], 1)
    finally:
        os._exit(0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _learner_first(tb: str) -> str:
    lines = tb.rstrip().splitlines()
    # keep the tail (the frames nearest the error) and drop the harness's own frames
    keep = [ln for ln in lines if "kata/distkit.py" not in ln]
    return "\n".join(keep[-30:])


def launch(world_size: int, fn, *args, timeout: float = 30.0, threads: int = 1, **kwargs) -> list[Rank]:
    """Run `fn(*args, **kwargs)` on `world_size` gloo ranks; return one `Rank` per rank (see module doc)."""
    ctx = mp.get_context("fork")
    port = _free_port()
    procs, conns = [], []
    release = os.pipe()
    order: list[int] = []  # ranks in the order their results arrived: the first failure is the cause
    try:
        for r in range(world_size):
            recv_end, send_end = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_rank_main, args=(r, world_size, port, send_end, release, fn, args, kwargs, threads),
                            daemon=True)
            p.start()
            send_end.close()
            procs.append(p)
            conns.append(recv_end)
        got: dict[int, tuple] = {}
        deadline = time.monotonic() + timeout
        first_error_at = None
        while len(got) < world_size:
            now = time.monotonic()
            if first_error_at is not None and now - first_error_at > 2.0:
                break  # one rank failed: the others are probably waiting for it; give them 2 s
            if now > deadline:
                break
            waiting = {conns[r].fileno(): r for r in range(world_size) if r not in got}
            ready, _, _ = select.select(list(waiting), [], [], 0.05)
            for fd in ready:
                r = waiting[fd]
                try:
                    got[r] = pickle.loads(conns[r].recv_bytes())
                except (EOFError, OSError):
                    procs[r].join(1.0)
                    code = procs[r].exitcode
                    why = (f"was killed by {signal.Signals(-code).name}" if code and code < 0 else
                           f"exited with status {code}") if code is not None else "closed its pipe"
                    got[r] = ("raised", ("died", f"rank {r} {why} before returning", "", False), {}, [], 0.0)
                order.append(r)
                if got[r][0] != "ok" and first_error_at is None:
                    first_error_at = time.monotonic()
    finally:
        os.close(release[1])
        for p in procs:
            p.join(0.5)
        for p in procs:
            if p.is_alive():
                p.kill()
        for p in procs:
            p.join(5.0)
        for c in conns:
            c.close()
        os.close(release[0])

    failed = [r for r in order if got[r][0] != "ok"]
    missing = sorted(set(range(world_size)) - set(got))
    if failed:
        # a stub's NotImplementedError comes back as one, so the harness reports "not implemented yet"
        for r in failed:
            name, msg, tb, nie = got[r][1]
            if nie:
                raise NotImplementedError(f"{msg} (raised in rank {r} of {world_size})")
        r = failed[0]
        name, msg, tb, _ = got[r][1]
        others = f"; ranks {missing} were still running and were stopped" if missing else ""
        raise RankFailed(f"RANK {r} OF {world_size} FAILED: {name}: {msg}{others}\n"
                         f"{_learner_first(tb)}" if tb else f"RANK {r} OF {world_size} FAILED: {msg}{others}")
    if missing:
        done = sorted(got)
        raise RankFailed(
            f"TIME-OUT after {timeout:.0f} s with {world_size} ranks: rank(s) {missing} never finished"
            + (f" (rank(s) {done} returned)" if done else " (no rank returned)")
            + ". A rank blocks forever in recv() or a collective when its peer never sends or skips the call: "
              "check that every send has a matching recv on the other rank, in an order that cannot wait in a "
              "circle, and that every rank makes the same collective calls in the same order.")
    return [Rank(r, got[r][1], got[r][2], got[r][3], got[r][4]) for r in range(world_size)]


def load(path):
    """Import the learner's file at `path` afresh inside a rank (after the counters are installed, so
    that even `from torch.distributed import send` is counted)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(path)
    name = f"kata_rank_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def ring_bound(numel: int, element_size: int, world_size: int) -> int:
    """Bytes a ring all-reduce puts on the wire per rank: 2 (N-1) chunks of ceil(numel / N) elements."""
    n = world_size
    return 2 * (n - 1) * -(-numel // n) * element_size if n > 1 else 0


def reachable_bytes(obj, exclude=()) -> int:
    """Bytes of the distinct tensor storages reachable from `obj` (through attributes, dicts, lists,
    tuples, sets and nn.Modules' parameters and buffers), leaving out the storages of the tensors in
    `exclude` (e.g. the model's parameters and their .grad): the persistent memory an object keeps."""
    import types

    import torch

    skip = {t.untyped_storage().data_ptr() for t in exclude if t is not None}
    seen_obj, storages = set(), {}
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen_obj or o is None:
            continue
        seen_obj.add(id(o))
        if isinstance(o, torch.Tensor):
            s = o.untyped_storage()
            if s.data_ptr() not in skip:
                storages[(s.data_ptr(), s.nbytes())] = s.nbytes()
            if o.grad is not None if isinstance(o, torch.nn.Parameter) else False:
                stack.append(o.grad)
            continue
        if isinstance(o, (str, bytes, int, float, bool, complex, types.ModuleType, types.FunctionType,
                          types.BuiltinFunctionType, types.MethodType, type, torch.dtype, torch.device)):
            continue
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        if hasattr(o, "__dict__"):
            stack.extend(vars(o).values())
        if hasattr(type(o), "__slots__"):
            stack.extend(getattr(o, s, None) for s in type(o).__slots__ if isinstance(s, str))
    return int(sum(storages.values()))
