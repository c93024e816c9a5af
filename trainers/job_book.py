"""What every job back end shares: the owners' runs, the runs-per-session count, and ending.

`trainers.jobs.JobManager` (local workers) and `trainers.ray_jobs.RayJobManager` (a Ray cluster)
both keep each owner's Job objects here, so pages see the same API whichever executes the runs.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path

from trainers.config import RunSpec
from trainers.datasets import DatasetError, training_rows
from trainers.job import Job
from trainers.limits import Limits


class JobRefused(ValueError):
    """The run may not start; `reasons` holds one message per problem."""

    def __init__(self, reasons: list[str]):
        super().__init__(" ".join(reasons))
        self.reasons = list(reasons)


SHUTTING_DOWN = "The server is shutting down; no new runs are accepted."


class JobBook:
    """Each owner's jobs (a session's), oldest first; a back end adds where and when they run.

    A subclass implements the manager side that Job calls: `queue_position(job)`,
    `queue_reason(job)`, `_dequeue(job) -> bool`, `_job_ended(job)`, and `_close_workers()`.
    """

    def __init__(self, limits: Limits | None):
        self.limits = limits or Limits.from_env()
        self._lock = threading.Lock()
        self._by_owner: dict[str, list[Job]] = defaultdict(list)
        self._closed = threading.Event()

    def jobs_for(self, owner: str) -> list[Job]:
        """The owner's jobs, oldest first (at most `limits.runs_per_session` ended ones kept)."""
        with self._lock:
            return list(self._by_owner.get(owner, ()))

    def _active_count(self, owner: str) -> int:
        return sum(1 for job in self._by_owner[owner] if not job.ended)

    def _ended_ids(self, owner: str) -> list[str]:
        with self._lock:
            return [job.id for job in self._by_owner.get(owner, ()) if job.ended]

    def _keep(self, job: Job) -> None:
        """Add a new job to its owner's list, forgetting the oldest ended ones beyond the limit.
        Under the lock."""
        jobs = self._by_owner[job.owner]
        jobs.append(job)
        while len(jobs) > self.limits.runs_per_session:
            oldest_ended = next((old for old in jobs if old.ended), None)
            if oldest_ended is None:
                return
            jobs.remove(oldest_ended)
            oldest_ended._forget_weights()

    def _new_job(self, job_id: str, spec: RunSpec, owner: str, weights_dir: Path | None = None) -> Job:
        """With `weights_dir` (a folder of the owner's), the job keeps its weights there once it
        has ended instead of in memory (trainers.job)."""
        return Job(job_id, spec, owner, self,
                   max_epochs=self.limits.epochs_allowed(dataset_size(spec)),
                   weights_file=weights_dir / f"{job_id}.safetensors" if weights_dir else None)

    def wait_warm(self, timeout: float = 30.0) -> bool:
        """Block until the workers are ready for a first run (tests and benchmarks)."""
        return True

    # --- ending jobs --------------------------------------------------------------------------
    def end_owner(self, owner: str) -> bool:
        """Stop all of an owner's jobs (a closed tab) and forget them so their memory is freed.

        Bounded: a process job that ignores the stop is killed after `stop_grace_s`. Returns
        False only if a thread job was still running after that (threads cannot be killed).
        """
        with self._lock:
            jobs = self._by_owner.pop(owner, [])
        ended = self._end_all(jobs)
        for job in jobs:
            job._forget_weights()
        return ended

    def shutdown(self) -> bool:
        """End every job and refuse new runs; nothing of ours keeps running."""
        self._closed.set()
        with self._lock:
            jobs = [job for owned in self._by_owner.values() for job in owned]
            self._by_owner.clear()
        ended = self._end_all(jobs)
        self._close_workers()
        return ended

    def _end_all(self, jobs: list[Job]) -> bool:
        for job in jobs:
            job.stop()
        deadline = time.monotonic() + self.limits.stop_grace_s + 2.0
        return all(job._end_within(max(0.0, deadline - time.monotonic())) for job in jobs)

    def _close_workers(self) -> None:
        raise NotImplementedError


def dataset_size(spec: RunSpec) -> int:
    """Rows the run trains on per epoch (trainers.datasets.training_rows); 0 when the dataset
    cannot be read (then the run itself reports why, before any epoch)."""
    try:
        return training_rows(spec.dataset, spec.dataset_options)
    except DatasetError:
        return 0
