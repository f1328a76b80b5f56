"""The roster benchmark: a realistic roster of N rows imported, issued, stored and sampled.

`rpl bench roster` prints, from one run on a fresh instance: rows/s of each phase and overall,
CPU time per row (this process and its signer processes: steadier than rows/s on a shared
machine), peak memory (this process, its largest signer process, and all of its processes at
once, Prefect's server included), and Prefect's share of the run — the flow's wall time minus
the time its task bodies spent, over the whole run.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("Ward volunteer", "Porter", "Registered Nurse", "Chaplaincy volunteer", "Shop helper")
SKILLS = ("Patient care", "Listening", "First aid", "Manual handling", "Cash handling", "Teamwork")
FIRST = ("Ana", "Bo", "Cy", "Dee", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea")
LAST = ("Lima", "Chen", "Ray", "Fox", "Ng", "Ode", "Park", "Quinn", "Roy", "Silva", "Tan")


def write_roster(path: Path, rows: int, seed: int = 1, bad_every: int = 200) -> None:
    """A roster of `rows` data rows; every `bad_every`-th row is wrong in some way people get
    wrong (a date in the future, a month 13, hours as words), so rejects are exercised too."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["identifier", "name", "role", "kind", "start", "end", "hours", "skills"])
        for n in range(rows):
            start = rng.randrange(1990, 2020)
            end = start + rng.randrange(1, 5)  # a year or more: any hours below fit
            row = [
                f"person{n}@example.org",
                f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                rng.choice(ROLES),
                rng.choice(("", "employment", "contribution")),
                f"{start}-{rng.randrange(1, 13):02d}",
                str(end),
                str(rng.randrange(10, 300)),
                "; ".join(rng.sample(SKILLS, rng.randrange(0, 3))),
            ]
            if bad_every and n % bad_every == bad_every - 1:
                row[4] = rng.choice(("2099", f"{start}-13", "soon"))
            writer.writerow(row)


def cpu_seconds() -> tuple[float, float]:
    """User+system CPU seconds of this process and of its finished (reaped) children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def cpu_per_row(
    before: tuple[float, float], after: tuple[float, float], rows: int
) -> dict[str, float]:
    """CPU microseconds a row cost in this process and in its children between two readings:
    on a shared machine, a steadier figure than rows/s (other people's work does not count)."""
    rows = max(rows, 1)
    own, children = (1e6 * (a - b) / rows for a, b in zip(after, before, strict=True))
    return {"parent": own, "signers": children, "total": own + children}


def peak_rss_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child (a signer, or
    any other process it started and reaped), in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


class TreeMemory:
    """The peak of the memory this process and every process under it (signers, Prefect's
    server) hold at once: their PSS summed (a page shared by n processes counts 1/n in each),
    read from /proc every `every` seconds by a thread. The peaks of `peak_rss_mib` are each
    process's own, at different moments; this is what the machine must have. Linux only:
    `peak_mib` is None elsewhere."""

    def __init__(self, every: float = 0.5) -> None:
        self.every, self.peak_kib, self.at_peak = every, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rpl-bench-memory", daemon=True)
        self.available = Path(f"/proc/{os.getpid()}/smaps_rollup").exists()

    def __enter__(self) -> TreeMemory:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self.available:
            self._thread.join()

    @property
    def peak_mib(self) -> float | None:
        return self.peak_kib / 1024 if self.available else None

    def _run(self) -> None:
        while True:
            pids = _tree(os.getpid())
            total = sum(_pss_kib(pid) for pid in pids)
            if total > self.peak_kib:
                self.peak_kib, self.at_peak = total, len(pids)
            if self._stop.wait(self.every):
                return


def _tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        for task in _listdir(f"/proc/{pid}/task"):
            todo += [int(c) for c in _read(f"/proc/{pid}/task/{task}/children").split()]
    return pids


def _pss_kib(pid: int) -> int:
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0  # gone meanwhile


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return ""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


@dataclass
class Figures:
    rows: int
    cryptosuite: str
    chunk_rows: int
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    prefect: dict[str, float] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)
    cpu_us_per_row: dict[str, float] = field(default_factory=dict)
    tree_mib: float = 0.0  # `TreeMemory`'s peak, when it could read it
    tree_processes: int = 0

    def lines(self) -> list[str]:
        out = [
            f"roster benchmark: {self.rows:,} rows, {self.cryptosuite},"
            f" chunks of {self.chunk_rows:,} rows"
        ]
        for phase, secs in self.seconds.items():
            n = self.counts.get(phase, self.rows)
            out.append(
                f"  {phase:<22} {secs:8.1f} s  {n / secs if secs else 0:10,.0f} rows/s ({n:,})"
            )
        for name, value in self.prefect.items():
            out.append(f"  prefect {name:<14} {value:8.3f}")
        for name, value in self.cpu_us_per_row.items():
            out.append(f"  cpu per row {name:<10} {value:8.0f} µs")
        for name, value in self.memory_mib.items():
            out.append(f"  peak memory {name:<10} {value:8.0f} MiB")
        if self.tree_processes:
            out.append(
                f"  peak memory {'all':<10} {self.tree_mib:8.0f} MiB"
                f" PSS, {self.tree_processes} processes at once"
            )
        return out


def timed(figures: Figures, phase: str, work: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = work()
    figures.seconds[phase] = time.perf_counter() - start
    return result


def flow_overhead(result: Any, issue_seconds: float) -> dict[str, float]:
    """Prefect's share, when issuance ran as a flow whose future returned its totals."""
    if not isinstance(result, Future):
        return {}
    totals = result.result()
    machinery = max(0.0, totals["flow_seconds"] - totals["task_seconds"])
    return {
        "tasks": float(totals["tasks"]),
        "flow_seconds": totals["flow_seconds"],
        "task_seconds": totals["task_seconds"],
        "overhead_ratio": machinery / issue_seconds if issue_seconds else 0.0,
    }
