"""Deterministic performance counts: valgrind's callgrind around a small C driver program.

Callgrind counts instructions (not seconds) and, with --cache-sim=yes, simulates a cache you choose;
--toggle-collect restricts both to one function, so set-up in the driver does not count. The same
binary and input give the same numbers run after run, whatever else the machine is doing.

Valgrind 3.19 dies with SIGILL on AVX-512: native.build compiles for x86-64-v3 (AVX2) for that reason.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


class MeasureError(Exception):
    pass


@dataclass(frozen=True)
class Cache:
    """A simulated cache level: total size in bytes, associativity (1 = direct-mapped), line size."""
    size: int
    assoc: int
    line: int

    def arg(self) -> str:
        return f"{self.size},{self.assoc},{self.line}"

    def __str__(self):
        kind = "direct-mapped" if self.assoc == 1 else f"{self.assoc}-way"
        return f"{self.size} B {kind} cache with {self.line} B lines"


@dataclass
class Counts:
    instructions: int            # Ir: instructions executed inside the function
    reads: int = 0               # Dr: data reads
    writes: int = 0              # Dw: data writes
    d1_read_misses: int = 0      # D1mr
    d1_write_misses: int = 0     # D1mw
    ll_misses: int = 0           # DLmr + DLmw
    events: dict = field(default_factory=dict)

    @property
    def d1_misses(self) -> int:
        return self.d1_read_misses + self.d1_write_misses


def parse_callgrind(text: str) -> dict[str, int]:
    names, totals = None, None
    for line in text.splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith("totals:") or (line.startswith("summary:") and totals is None):
            totals = [int(x) for x in line.split()[1:]]
    if names is None or totals is None:
        raise MeasureError("callgrind wrote no totals")
    totals += [0] * (len(names) - len(totals))
    return dict(zip(names, totals))


def callgrind_dumps(program: Path, args: list, options: list[str] = (), *, timeout: float = 120.0) -> list[dict[str, int]]:
    """Run `program args` under callgrind with `options` (`--toggle-collect=...`, `--cache-sim=yes`,
    `--dump-after=...`); the events of each profile dump, in order, the run's final one last. The program is learner code: it runs
    through native.launch (in the sandbox when the judge is separate)."""
    from native import launch

    if shutil.which("valgrind") is None:
        raise MeasureError("valgrind is not installed: the deterministic counts need it (apt-get install valgrind)")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=cg.out", *options, str(program), *map(str, args)]
    try:
        ran = launch.run(cmd, timeout=timeout, env={"LC_ALL": "C"}, fetch="cg.out*")
    except subprocess.TimeoutExpired:
        raise MeasureError(f"the measured program ran past {timeout:.0f} s under valgrind (endless loop?)") from None
    if ran.returncode != 0:
        for line in ran.stderr.splitlines():
            if line.startswith("not implemented yet:"):
                from native.ffi import NotImplementedYet
                raise NotImplementedYet(line + " (this function is still the stub: write it, see the kata's README)")
        tail = "\n".join(l for l in ran.stderr.splitlines() if not l.startswith("==")) or ran.stderr[-2000:]
        sig = ""
        for line in ran.stderr.splitlines():
            if "Process terminating with default action of signal" in line:
                sig = " (" + line.split("signal", 1)[1].strip() + ")"
        raise MeasureError(f"the measured program failed under valgrind, exit {ran.returncode}{sig}:\n{tail}")

    def order(name: str) -> float:  # cg.out.1, cg.out.2, ... (--dump-after), then cg.out (the end of the run)
        tail = name.rsplit(".", 1)[-1]
        return int(tail) if tail.isdigit() else float("inf")
    return [parse_callgrind(ran.files[n].decode(errors="replace")) for n in sorted(ran.files, key=order)]


def callgrind(program: Path, args: list[str], function: str, *, d1: Cache | None = None,
              ll: Cache | None = None, timeout: float = 120.0) -> Counts:
    """Run `program args` under callgrind, counting only inside `function` (and what it calls)."""
    options = [f"--toggle-collect={function}", f"--toggle-collect={function}.*"]
    if d1 or ll:
        d1 = d1 or Cache(32768, 8, 64)
        ll = ll or Cache(max(8 * 1024 * 1024, d1.size * 4), 16, d1.line)
        options += ["--cache-sim=yes", f"--D1={d1.arg()}", f"--I1={Cache(32768, 8, d1.line).arg()}", f"--LL={ll.arg()}"]
    dumps = callgrind_dumps(program, args, options, timeout=timeout)
    if not dumps:
        raise MeasureError("callgrind wrote no profile")
    ev = dumps[-1]
    if ev.get("Ir", 0) == 0:
        raise MeasureError(f"callgrind counted no instructions in {function}(): was it called, under that name?")
    return Counts(
        instructions=ev.get("Ir", 0), reads=ev.get("Dr", 0), writes=ev.get("Dw", 0),
        d1_read_misses=ev.get("D1mr", 0), d1_write_misses=ev.get("D1mw", 0),
        ll_misses=ev.get("DLmr", 0) + ev.get("DLmw", 0), events=ev,
    )


def signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"
