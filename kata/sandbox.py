"""Where learner code runs when the judge is separate: a zygote that forks one worker per test.

The zygote is forked from the pytest process when it starts (pytest_configure), before any test file
is imported, so neither it nor its workers hold the tests' code. It loads what workers need (numpy,
torch, the harness's worker side, Triton when asked), then confines itself, once, for all its workers:

- as root: a user of its own (uid KATA_SANDBOX_UID, default 64000 + a per-run offset), no groups, and
  no_new_privs (a setuid program cannot give the privileges back);
- a network namespace of its own with no interfaces but a downed loopback (when the kernel allows);
- a mount namespace where /tmp, /var/tmp and /dev/shm are small private tmpfs (a full disk is a full
  tmpfs), and the instructor's checkout, the pristine tree and the submission are hidden under empty
  tmpfs (when the kernel allows; the pristine tree is mode 0700 root anyway);
- resource limits: address space (no GPU; set in each worker that loads learner code, while a worker
  that runs programs built with it, native.launch, gives each program its own), processes (per user:
  a fork bomb stops there), file size, no core files (time is the test's own limit: every process left
  is killed after each test);
- an environment with nothing of the grader's: PATH, HOME, TMPDIR, LANG and the Triton and device
  switches the tests set.

A test asks for a worker through the control socket (kata.remote.Judge talks to it); after every test
the pytest process asks the zygote to kill what is left (`reap`): as its own user, every process of
that user, which a worker's children cannot escape by changing session.

    Sandbox(hide=[...], uid=None).start()   in the pytest process, before collection
    sandbox.spawn() -> (socket, pid, crash_fd)  in a test's forked child
    sandbox.reap()                          in the pytest process, after each test
    sandbox.report                          what confinement took effect, in words
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import socket
import sys
from pathlib import Path

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

KEEP_ENV = ("TRITON_INTERPRET", "KATA_FORCE_CPU", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "KATA_SECRET_SEED", "LD_LIBRARY_PATH")


def free_uid(hint: int | None = None, base: int = 64000, span: int = 1000) -> int:
    """A user id in [base, base + span) that no running process has, starting the search at `hint`: the
    sandbox kills every process of its user after each test, so two sandboxes must never share one."""
    used = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("Uid:"))
            used.add(int(line.split()[1]))
        except (OSError, StopIteration, ValueError, IndexError):
            continue
    start = (hint - base) if hint is not None else (os.getpid() * 37) % span
    for k in range(span):
        uid = base + (start + k) % span
        if uid not in used:
            return uid
    raise RuntimeError(f"no free user id for the learner's sandbox ({base}-{base + span - 1} all in use)")


def _libc():
    return ctypes.CDLL(None, use_errno=True)


class Sandbox:
    def __init__(self, hide: list[Path] = (), uid: int | None = None, memory_bytes: int = 6 << 30,
                 processes: int = 512, file_bytes: int = 256 << 20,
                 tmpfs_bytes: int = 1 << 30, preload: tuple[str, ...] = ()):
        self.hide = [Path(p) for p in hide if p]
        self.uid = uid
        self.memory_bytes, self.processes, self.file_bytes = memory_bytes, processes, file_bytes
        self.tmpfs_bytes, self.preload = tmpfs_bytes, preload
        self.address_space: int | None = None  # each learner-code worker's limit, set when confined
        self.ctl: socket.socket | None = None
        self.pid: int | None = None
        self.report = ""

    # ---------------------------------------------------------------- the pytest process's side
    def start(self) -> "Sandbox":
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        rfd, wfd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            parent.close()
            os.close(rfd)
            try:
                _zygote(self, child, wfd)
            finally:
                os._exit(0)
        child.close()
        os.close(wfd)
        with os.fdopen(rfd, "rb") as r:
            self.report = r.read().decode(errors="replace")
        self.ctl, self.pid = parent, pid
        if not self.report.startswith("ready"):
            raise RuntimeError(f"the learner's sandbox did not start: {self.report or 'no reason given'}")
        self.report = self.report[len("ready"):].strip()
        return self

    def spawn(self, program: bool = False) -> tuple[socket.socket, int, int]:
        """A new worker, connected to this (test) process: (socket, pid, crash_fd). `program`: a worker
        that only runs programs (native.launch), without the address-space limit: each program it runs
        gets its own. `crash_fd` reads what the worker's faulthandler writes when a fatal signal ends
        it (the zygote, not this process, is its parent: waitpid cannot tell)."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        crash_r, crash_w = os.pipe()
        try:
            socket.send_fds(self.ctl, [b"spawn-program" if program else b"spawn"], [theirs.fileno(), crash_w])
            while True:
                msg = self.ctl.recv(64)
                if not msg:
                    raise RuntimeError("the learner's sandbox is gone")
                if msg.startswith(b"pid "):
                    return mine, int(msg[4:]), crash_r
        finally:
            theirs.close()
            os.close(crash_w)

    def reap(self) -> None:
        """Kill every process the last test's workers left."""
        if self.ctl is None:
            return
        try:
            self.ctl.send(b"reap")
            while True:
                msg = self.ctl.recv(64)
                if not msg or msg == b"reaped":
                    return
        except OSError:
            pass

    def stop(self) -> None:
        if self.ctl is not None:
            self.reap()
            self.ctl.close()
            self.ctl = None
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None


# ------------------------------------------------------------------------------ the zygote's side

def _zygote(box: Sandbox, ctl: socket.socket, ready_fd: int) -> None:
    libc = _libc()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # pytest gone: the zygote goes too
    # Nothing of the grader's stays open here: not its pipes (kata.gradeplugin's test list, the report),
    # not its files. Only the control socket and the pipe that says the zygote is ready.
    _close_fds_but({0, 1, 2, ctl.fileno(), ready_fd})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    notes = []
    try:
        _preload(box.preload)
        home = _confine(box, libc, notes)
    except BaseException as e:  # noqa: BLE001
        os.write(ready_fd, f"failed: {type(e).__name__}: {e}".encode())
        os.close(ready_fd)
        return
    os.write(ready_fd, ("ready " + "; ".join(notes)).encode())
    os.close(ready_fd)
    workers: list[int] = []   # started for a test, killed at the next reap
    dying: list[int] = []     # killed, not yet waited for
    spare = _Spare(ctl, home, box)  # the next test's worker, forked ahead while this test runs
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 64, 4)
        except OSError:
            msg, fds = b"", []
        if not msg:
            spare.discard()
            _reap(box, workers, dying)
            _wait(dying, block=True)
            return
        if msg == b"reap":
            _reap(box, workers, dying)  # (kills the spare too, as a process of the sandbox's user)
            dying.append(spare.pid)
            spare.mine.close()
            ctl.send(b"reaped")  # all killed: waiting for them (unmapping their memory) happens after
            _wait(dying, block=True)
            spare = _Spare(ctl, home, box)
            continue
        if msg in (b"spawn", b"spawn-program") and fds:
            pid = spare.start(fds, program=msg == b"spawn-program")
            for fd in fds:
                os.close(fd)
            workers.append(pid)
            ctl.send(f"pid {pid}".encode())
            spare = _Spare(ctl, home, box)
            _wait(dying, block=False)


class _Spare:
    """A worker forked ahead of need: it waits for the judge's socket, which the zygote hands it when a
    test asks for a worker (a fork of a process holding torch takes 20-30 ms; this takes well under 1)."""

    def __init__(self, ctl: socket.socket, home: Path, box: Sandbox):
        self.mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            ctl.close()
            self.mine.close()
            try:
                msg, fds, _, _ = socket.recv_fds(theirs, 16, 2)
            except OSError:
                msg, fds = b"", []
            if len(fds) != 2:
                os._exit(0)
            theirs.close()
            _worker(fds[0], home, box, program=msg == b"go-program", crash_fd=fds[1])
        theirs.close()

    def start(self, fds: list[int], program: bool = False) -> int:
        socket.send_fds(self.mine, [b"go-program" if program else b"go"], fds[:2])
        self.mine.close()
        return self.pid

    def discard(self) -> None:
        self.mine.close()  # the spare sees the socket close and exits
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _reap(box: Sandbox, workers: list[int], dying: list[int]) -> None:
    """SIGKILL every process the tests' workers started (they cannot act after that)."""
    if os.getuid() != 0 and box.uid is not None and os.getuid() == box.uid:
        try:
            os.kill(-1, signal.SIGKILL)  # every process of the sandbox's own user but this one
        except ProcessLookupError:
            pass
    for pid in workers:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    dying.extend(workers)
    workers.clear()


def _wait(dying: list[int], block: bool) -> None:
    for pid in list(dying):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            dying.remove(pid)


def _worker(fd: int, home: Path, box: Sandbox, program: bool = False, crash_fd: int = -1) -> None:
    try:
        os.setpgid(0, 0)
        if box.address_space and not program:
            resource.setrlimit(resource.RLIMIT_AS, (box.address_space, box.address_space))
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # No RLIMIT_CPU: with one set, Linux keeps this process's CPU clock to the scheduler tick (1-4 ms),
        # and the timed tests read that clock. Time is bounded by the test's limit and the reap after it.
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        # What the learner's code prints goes to a file of its own, never to the grader's output.
        out = os.open(str(home / "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        _close_fds_but({0, 1, 2, fd, crash_fd})
        import faulthandler
        faulthandler.enable(file=crash_fd, all_threads=False)  # a fatal signal is named to the judge
        from kata import remote
        sock = socket.socket(fileno=fd)
        remote.serve(sock, home)
    finally:
        os._exit(0)


def _close_fds_but(keep: set[int]) -> None:
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 4096))
    for fd in fds:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _preload(extra: tuple[str, ...]) -> None:
    """What workers need, imported while the harness's files can still be read (the harness's own modules,
    and what `extra` names: torch, cffi, kata.tritonkit; imported once here rather than in every worker)."""
    import importlib

    import numpy  # noqa: F401

    for name in ("kata.remote", "kata.wire", "kata.context", "kata.signals", "kata.toolkit", "native.launch", *extra):
        try:
            importlib.import_module(name)
        except ImportError:
            if name in extra:
                raise
    if "native.ffi" in sys.modules:  # the classes the worker may build around a learner's library
        for name in ("native.sanitize", "native.oskit"):
            importlib.import_module(name)
    if "torch" in sys.modules:  # the census a test may mirror into the worker (kata.toolkit.OpCensus)
        importlib.import_module("kata.toolkit")._define_modes()


def _confine(box: Sandbox, libc, notes: list[str]) -> Path:
    root = os.getuid() == 0
    home = None
    if root and libc.unshare(CLONE_NEWNS | CLONE_NEWNET) == 0:
        notes.append("no network (a network namespace of its own)")
        libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
        if box.uid is not None:
            shown = _expose_python(libc)
            if shown:
                notes.append(f"of {', '.join(a for a, _ in shown)} only {', '.join(p for _, p in shown)} is visible")
        for tmp in ("/tmp", "/var/tmp", "/dev/shm"):
            if os.path.isdir(tmp):
                _mount_tmpfs(libc, tmp, box.tmpfs_bytes)
        hidden = []
        for p in box.hide:
            if p.is_dir() and not str(p).startswith(("/tmp/", "/var/tmp/", "/dev/shm/")):
                if _mount_tmpfs(libc, str(p), 1 << 20):
                    hidden.append(str(p))
        notes.append(f"/tmp, /var/tmp and /dev/shm private ({box.tmpfs_bytes >> 20} MiB each)"
                     + (f"; hidden: {', '.join(hidden)}" if hidden else ""))
    elif root:
        notes.append(f"network and mounts shared (unshare refused: errno {ctypes.get_errno()})")
        closed = _closed_to_others(sys.prefix)
        if box.uid is not None and closed:
            # Without a mount namespace the other user could not even import Python from behind it.
            notes.append(f"the grader's own user: {closed} is closed to others and cannot be uncovered here")
            box.uid = None
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"kata-learner-{os.getpid()}"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    limits = [(resource.RLIMIT_FSIZE, box.file_bytes), (resource.RLIMIT_CORE, 0)]
    if not _gpu_wanted():
        # set in each worker that loads learner code (not here: a worker that runs programs needs none)
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        box.address_space = _vm_size() + box.memory_bytes
        if hard != resource.RLIM_INFINITY:
            box.address_space = min(box.address_space, hard)
    if root and box.uid is not None:
        limits.append((resource.RLIMIT_NPROC, box.processes))
    for what, n in limits:
        soft, hard = resource.getrlimit(what)
        n = n if hard == resource.RLIM_INFINITY else min(n, hard)
        resource.setrlimit(what, (n, n))
    notes.append(f"limits: {'address space +' + str(box.memory_bytes >> 20) + ' MiB, ' if not _gpu_wanted() else ''}"
                 f"files {box.file_bytes >> 20} MiB, time: the test's limit"
                 + (f", {box.processes} processes" if root and box.uid is not None else ""))
    if root and box.uid is not None:
        os.chown(home, box.uid, box.uid)
        os.setgroups([])
        os.setgid(box.uid)
        os.setuid(box.uid)
        notes.append(f"user {box.uid}, no groups")
    elif not root:
        notes.append("the grader's own user (not root: no other user to run as)")
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # again: changing user clears it
    if os.getppid() == 1:
        raise RuntimeError("the pytest process is gone")
    keep = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    os.environ.clear()
    os.environ.update(keep, PATH="/usr/local/bin:/usr/bin:/bin", HOME=str(home), TMPDIR=str(home),
                      LANG="C.UTF-8", USER="kata-learner", LOGNAME="kata-learner", TRITON_CACHE_DIR=str(home / "triton"))
    os.chdir(home)
    return home


def _expose_python(libc) -> list[tuple[str, str]]:
    """Python may live where another user cannot go (pyenv under /root, mode 0700). For each such folder
    on the way to the interpreter's files, cover it with an empty tmpfs that others may enter, and put
    back only the one entry on the way (/root/.pyenv): the rest of it stays out of sight."""
    import site
    import tempfile
    shown = []
    wanted = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()]
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        wanted.append(site.getusersitepackages())
    for top in sorted({os.path.realpath(p) for p in wanted if p and os.path.isabs(p) and os.path.exists(p)}):
        if top.startswith(("/tmp/", "/var/tmp/", "/dev/shm/")):
            continue  # those get a tmpfs of their own
        parts = Path(top).parts
        for i in range(2, len(parts)):
            closed, child = Path(*parts[:i]), Path(*parts[:i + 1])
            if os.stat(closed).st_mode & 0o001 or any(closed == Path(a) for a, _ in shown):
                continue
            spare = tempfile.mkdtemp(prefix="kata-bind-")
            try:
                if libc.mount(str(child).encode(), spare.encode(), None, MS_BIND | MS_REC, None) != 0:
                    break
                if not _mount_tmpfs(libc, str(closed), 1 << 20, mode="0755"):
                    libc.umount2(spare.encode(), 2)
                    break
                os.mkdir(child) if os.path.isdir(spare) else open(child, "w").close()
                libc.mount(spare.encode(), str(child).encode(), None, MS_BIND | MS_REC, None)
                libc.umount2(spare.encode(), 2)  # MNT_DETACH
                shown.append((str(closed), str(child)))
            finally:
                os.rmdir(spare)
    return shown


def _closed_to_others(path: str) -> str | None:
    """The first folder on the way to `path` that other users may not enter, if any."""
    parts = Path(os.path.realpath(path)).parts
    for i in range(2, len(parts) + 1):
        folder = Path(*parts[:i])
        try:
            if folder.is_dir() and not os.stat(folder).st_mode & 0o001:
                return str(folder)
        except OSError:
            return str(folder)
    return None


def _mount_tmpfs(libc, path: str, size: int, mode: str = "1777") -> bool:
    return libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0, f"size={size},mode={mode}".encode()) == 0


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def _gpu_wanted() -> bool:
    """A CUDA context reserves far more address space than it uses: no address-space limit with a GPU."""
    if os.environ.get("KATA_FORCE_CPU") == "1":
        return False
    return any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/nvidiactl"))
