"""Running a program built with the learner's code (a valgrind or sanitizer driver from support/).

Such a program *is* learner code. When the judge is separate (kata grade), it runs in the learner's
sandbox (kata.sandbox: the sandbox's user, no network, the instructor's files out of sight, limits),
in a worker of its own: the program and the files named in its arguments are copied in, and only
data comes back (exit status, what it printed, the files it wrote that the caller asked for). In a
learner's own `pytest` it runs here, in a fresh temporary folder, the same way.

    ran = run([prog, "1000"], timeout=60, env={"LC_ALL": "C"})       # -> Ran(returncode, stdout, stderr, files)
    ran = run(["valgrind", "--callgrind-out-file=cg.out", prog], timeout=120, fetch="cg.out*")

Arguments that are absolute paths of existing files or folders are copied (a folder with its files)
and rewritten to the copies; the program's working folder is a fresh empty one, where `fetch` (a glob)
finds what it wrote. `env` is added to a clean environment (PATH, HOME, TMPDIR, LANG). A program that
runs past `timeout` raises subprocess.TimeoutExpired. `memory_limit=False` lifts the address-space
limit (AddressSanitizer reserves terabytes it never uses; it bounds its own memory with
hard_rss_limit_mb instead).
"""
from __future__ import annotations

import os
import resource
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

OUTPUT_BYTES = 4 << 20      # of stdout and of stderr, from the start: the first report is the one shown
SHIPPED_BYTES = 256 << 20   # the most a program's input files may weigh together
MEMORY_BYTES = 6 << 30      # address space of a program run with memory_limit (as the sandbox's workers)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str
    files: dict[str, bytes] = field(default_factory=dict)


def run(argv, *, timeout: float, env: dict | None = None, fetch: str | None = None,
        memory_limit: bool = True) -> Ran:
    argv = [str(a) for a in argv]
    from kata import trust
    if trust.program_runner is not None:
        return trust.program_runner(argv, timeout=timeout, env=dict(env or {}), fetch=fetch, memory_limit=memory_limit)
    here = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return run_here(argv, timeout=timeout, env={**here, **(env or {})}, fetch=fetch, address_space=None)


def run_here(argv: list[str], *, timeout: float, env: dict, fetch: str | None, address_space: int | None,
             where: Path | None = None) -> Ran:
    """Run `argv` in a fresh folder (inside `where`, else the system's temporary folder)."""
    def limit():
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    with tempfile.TemporaryDirectory(prefix="kata-run-", dir=where) as tmp:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, env=env, cwd=tmp,
                              preexec_fn=limit if address_space else None)
        files = {p.name: p.read_bytes() for p in sorted(Path(tmp).glob(fetch)) if p.is_file()} if fetch else {}
    return Ran(proc.returncode, _text(proc.stdout), _text(proc.stderr), files)


def _text(raw: bytes) -> str:
    return raw[:OUTPUT_BYTES].decode(errors="replace")


# ------------------------------------------------------------------- across the sandbox's boundary

def pack(argv: list[str]) -> tuple[list, list[bytes]]:
    """The judge's side: what to copy for each argument that names a file or folder here, as
    [[argument index, name, [[relative path or "", mode], ...]], ...] and the files' contents."""
    ship, bufs, total = [], [], 0
    for i, a in enumerate(argv):
        if not (os.path.isabs(a) and os.path.exists(a)):
            continue
        p = Path(a)
        if p.is_file():
            entries = [("", p)]
        else:
            entries = [(str(f.relative_to(p)), f) for f in sorted(p.rglob("*")) if f.is_file() and not f.is_symlink()]
        for _, f in entries:
            total += f.stat().st_size
            if total > SHIPPED_BYTES:
                raise RuntimeError(f"the program's input files weigh more than {SHIPPED_BYTES >> 20} MiB")
            bufs.append(f.read_bytes())
        ship.append([i, p.name, [[rel, f.stat().st_mode & 0o755] for rel, f in entries]])
    return ship, bufs


def unpack(argv: list[str], ship: list, bufs: list[bytes], into: Path) -> list[str]:
    """The worker's side: the copies written under `into`, and `argv` rewritten to them."""
    argv = list(argv)
    it = iter(bufs)
    for i, name, files in ship:
        dest = into / f"arg{int(i)}" / Path(str(name)).name
        if [list(f)[:1] for f in files] != [[""]]:
            dest.mkdir(parents=True, exist_ok=True)  # a folder, maybe empty
        for rel, mode in files:
            rel = str(rel)
            if os.path.isabs(rel) or ".." in Path(rel).parts:
                raise ValueError(f"a file to copy with a path outside its folder: {rel!r}")
            target = dest / rel if rel else dest
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(next(it))
            os.chmod(target, int(mode) & 0o755)
        argv[int(i)] = str(dest)
    return argv
