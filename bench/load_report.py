"""What the load test measures, whichever client plays the students: results, memory, summary."""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

# Light templates that train in seconds on their own datasets; students take them in turn.
TEMPLATES = ("mlp_digits", "mlp_playground", "autoencoder_dense")
# The live panel's status line, e.g. "Run 1 · adam lr 0.001 · finished in 3.2 s".
FINISHED = re.compile(r"finished in [\d.,]+ s")
ENDED_BADLY = re.compile(r"\b(failed|stopped)\b")


@dataclass
class SessionResult:
    index: int
    template: str
    interactions: list[tuple[str, float]] = field(default_factory=list)
    run_status: str = "not started"  # finished | failed | stopped | unfinished | not started
    # | browsed (a student who only looks, bench/load_replicas.py --train-every)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. a view the evaluation budget refused

    @property
    def completed(self) -> bool:
        return self.error is None and self.run_status in ("finished", "browsed")


class TreeMemory:
    """Samples the memory of a process and its descendants from /proc; keeps the peak, and the
    root process's own (the server's, without its job processes) since `mark_baseline()`."""

    def __init__(self, root_pid: int, every_s: float = 0.5):
        self.root_pid, self.every_s = root_pid, every_s
        self.peak_mb = 0.0
        self.root_baseline_mb = self.root_peak_mb = proportional_mb(root_pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="tree-memory", daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def now_mb(self) -> float:
        return sum(proportional_mb(pid) for pid in process_tree(self.root_pid))

    def mark_baseline(self) -> None:
        """The root's growth counts from now (e.g. after the teacher's warm-up)."""
        self.root_baseline_mb = self.root_peak_mb = proportional_mb(self.root_pid)

    @property
    def root_growth_mb(self) -> float:
        return self.root_peak_mb - self.root_baseline_mb

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_mb = max(self.peak_mb, self.now_mb())
            self.root_peak_mb = max(self.root_peak_mb, proportional_mb(self.root_pid))


def process_tree(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # the name in parentheses may hold spaces, so split after the last ")"
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # exited while we looked
    tree, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    return tree


def proportional_mb(pid: int) -> float:
    """PSS (RSS where smaps_rollup is unreadable) of one process, in MiB; 0 once it exited."""
    for name, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            lines = Path(name).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def process_cpu_s(pids: set[int]) -> float:
    """User + system CPU seconds used so far by these processes (exited ones count no more)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def summarize(results: list[SessionResult], peak_mb: float, idle_mb: float, wall_s: float,
              load: dict, *, wide: str = "wide") -> dict:
    times = [seconds for result in results for _, seconds in result.interactions]
    # The issue #12 target: the students who are not the wide-model ones keep their speed.
    others = [seconds for result in results if result.template != wide
              for _, seconds in result.interactions]
    by_kind: dict[str, list[float]] = {}
    for result in results:
        for name, seconds in result.interactions:
            by_kind.setdefault(name, []).append(seconds)
    return {
        "sessions": len(results),
        "sessions_completed": sum(result.completed for result in results),
        "runs_finished": sum(result.run_status == "finished" for result in results),
        "interactions": len(times),
        "p50_s": percentile(times, 0.50),
        "p95_s": percentile(times, 0.95),
        "max_s": max(times, default=None),
        "others_p95_s": percentile(others, 0.95),
        "others_interactions": len(others),
        "per_kind": {name: {"n": len(values), "p50_s": percentile(values, 0.5),
                            "p95_s": percentile(values, 0.95)} for name, values in by_kind.items()},
        "server_memory_idle_mb": round(idle_mb),
        "server_memory_peak_mb": round(peak_mb),
        "wall_s": round(wall_s, 1),
        "machine": load,
        "problems": [f"session {r.index} ({r.template}): {r.error or r.run_status}"
                     for r in results if not r.completed],
        "notes": sorted({note for r in results for note in r.notes}),
    }


def machine_load() -> dict:
    return {"cpus": os.cpu_count(), "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()]}
