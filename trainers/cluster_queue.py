"""The one queue every app replica shares: slots, limits and FIFO order for the whole cluster.

Under the Ray back end (trainers.ray_jobs) this class runs as one named, detached Ray actor, so
its state lives once for the cluster, outside any app process: however many replicas submit,
at most `max_jobs` CPU runs hold a slot at once and an owner (a browser session) has at most
`runs_per_session` runs queued or running. A plain class with no Ray in it, so it can be
tested directly; the actor runs its methods one at a time, so it needs no lock.

Replicas poll it about four times a second (`poll`): that is when they learn which of their
runs may start and where the others stand. A replica silent for `replica_timeout_s` is taken
for dead (its process is gone): its runs are dropped and their slots go to the queue.

The slots are numbered (0 .. max_jobs-1) and a granted CPU run learns its slot's number: under
Ray each slot has one long-lived runner actor (trainers.ray_pool) that trains its runs one after
another, so a run starts in a process that has torch imported already.
"""
from __future__ import annotations

import time
from dataclasses import dataclass


def too_many_runs(active: int) -> str:
    return (f"You already have {active} runs queued or running; stop one before starting "
            "another.")


@dataclass
class Entry:
    job_id: str
    replica: str
    owner: str
    gpu: bool
    slot: int | None = None  # a granted CPU run's slot


class ClusterQueue:
    def __init__(self, max_jobs: int, runs_per_session: int, replica_timeout_s: float = 30.0):
        self.max_jobs, self.runs_per_session = max_jobs, runs_per_session
        self._timeout = replica_timeout_s
        self._queue: list[Entry] = []
        self._running: dict[str, Entry] = {}  # granted a slot: starting or running
        self._to_start: dict[str, list[tuple[str, int | None]]] = {}  # replica -> granted (job
        # id, slot) not yet told
        self._seen: dict[str, float] = {}  # replica -> when it last polled

    def submit(self, job_id: str, replica: str, owner: str, gpu: bool,
               ended: tuple[str, ...] = ()) -> list[str]:
        """Queue a run; the reasons it is refused (an empty list when queued). `ended`: the
        owner's runs the replica saw end, released first (their release may still be on its
        way here)."""
        self._seen[replica] = time.monotonic()
        for job_id_ended in ended:
            self.release(job_id_ended)
        if job_id in self._running or any(e.job_id == job_id for e in self._queue):
            return []  # restored already from the replica's poll (trainers.ray_jobs.submit)
        active = sum(1 for e in [*self._queue, *self._running.values()] if e.owner == owner)
        if active >= self.runs_per_session:
            return [too_many_runs(active)]
        self._queue.append(Entry(job_id, replica, owner, gpu))
        return []

    def cancel(self, job_id: str) -> bool:
        """Take a run out of the queue before it was granted a slot; False when it has one."""
        before = len(self._queue)
        self._queue = [e for e in self._queue if e.job_id != job_id]
        return len(self._queue) < before

    def release(self, job_id: str) -> None:
        """A run ended (or never started): its slot is free."""
        self._running.pop(job_id, None)
        self.cancel(job_id)

    def poll(self, replica: str, waiting: tuple = (), running: tuple = ()) -> dict:
        """The replica's heartbeat: {"start": [(job id, slot)] it may start now (slot None for a
        GPU run), "positions": {job id: place among waiting runs of its kind, 1 = next},
        "running": CPU runs holding slots}.

        `waiting` holds the replica's own (job id, owner, gpu), `running` its (job id, owner,
        gpu, slot): a replica taken for dead that polls again (it was only slow) gets its runs
        back, in the order it gives, each running one in its slot if that is still free."""
        if replica not in self._seen:
            self._restore(replica, waiting, running)
        self._seen[replica] = time.monotonic()
        self._drop_silent_replicas()
        self._grant()
        start = self._to_start.pop(replica, [])
        return {"start": start, "positions": self.positions(replica), "running": self.cpu_running()}

    def positions(self, replica: str) -> dict[str, int]:
        places, counters = {}, {False: 0, True: 0}
        for entry in self._queue:
            counters[entry.gpu] += 1
            if entry.replica == replica:
                places[entry.job_id] = counters[entry.gpu]
        return places

    def cpu_running(self) -> int:
        return sum(1 for e in self._running.values() if not e.gpu)

    def forget_replica(self, replica: str) -> None:
        """A replica shut down: its queued runs leave and its slots are freed."""
        self._queue = [e for e in self._queue if e.replica != replica]
        self._running = {k: e for k, e in self._running.items() if e.replica != replica}
        self._to_start.pop(replica, None)
        self._seen.pop(replica, None)

    def _restore(self, replica: str, waiting: tuple, running: tuple) -> None:
        known = {e.job_id for e in self._queue} | set(self._running)
        taken = self._taken_slots()
        for job_id, owner, gpu, slot in running:
            if job_id not in known and (slot is None or slot not in taken):
                self._running[job_id] = Entry(job_id, replica, owner, gpu, slot)
        self._queue += [Entry(job_id, replica, owner, gpu) for job_id, owner, gpu in waiting
                        if job_id not in known]

    def _grant(self) -> None:
        """FIFO within each kind: CPU runs up to `max_jobs`; GPU runs at once (Ray places them
        by their fractional GPU request, so they wait there for a GPU with room)."""
        taken = self._taken_slots()
        free = [slot for slot in range(self.max_jobs) if slot not in taken]
        for entry in list(self._queue):
            if not entry.gpu:
                if not free:
                    continue
                entry.slot = free.pop(0)
            self._queue.remove(entry)
            self._running[entry.job_id] = entry
            self._to_start.setdefault(entry.replica, []).append((entry.job_id, entry.slot))

    def _taken_slots(self) -> set[int]:
        return {e.slot for e in self._running.values() if e.slot is not None}

    def _drop_silent_replicas(self) -> None:
        now = time.monotonic()
        for replica, seen in list(self._seen.items()):
            if now - seen > self._timeout:
                for entry in self._running.values():
                    if entry.replica == replica and entry.slot is not None:
                        self._slot_abandoned(entry.slot)
                self.forget_replica(replica)

    def _slot_abandoned(self, slot: int) -> None:
        """A silent replica's run may still be training in `slot` (trainers.ray_pool ends it)."""
