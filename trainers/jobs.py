"""Background training jobs: one server-wide JobManager, a queue, and a Job per run.

The UI keeps one JobManager per server. `submit(spec, owner)` either refuses with reasons
(JobRefused) or returns a Job at once, queued or running; a page then reads `job.progress()`,
`job.metrics()` and `job.alerts()` from its own thread at any time. A run's worker (a thread or a
warm process, see trainers.workers) feeds the job events; it never touches Streamlit.
"""
from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from functools import partial
from pathlib import Path

from builder import validate
from trainers.config import RunSpec
from trainers.gpu import GpuPool, dataset_bytes, estimate_gpu_bytes
from trainers.job import Job, Progress
from trainers.cluster_queue import too_many_runs
from trainers.job_book import SHUTTING_DOWN, JobBook, JobRefused, dataset_size
from trainers.limits import Limits
from trainers.process_worker import ProcessWorker
from trainers.workers import RunFn, ThreadWorker, choose_worker, device_of

__all__ = ["JobManager", "JobRefused", "Job", "Progress", "RunSpec", "check_spec"]

DEFAULT_RUN_FN = "trainers.loop:train_run"


class JobManager(JobBook):
    """Runs at most `limits.max_jobs` CPU jobs at once; the rest wait in FIFO order. A paused
    job keeps its slot (its worker and memory stay until it is resumed or stopped). GPU jobs
    have their own slots and wait for their estimated memory (`gpus`, a trainers.gpu.GpuPool):
    a CPU run never waits behind a GPU run, nor the other way round.

    run_fn: the worker protocol function (a callable for thread workers, or "module:function").
    worker: "thread", "process" or "auto" (default: limits.worker); process workers are warmed
        up here, at start-up.
    preflight: `spec -> list[str]`, reasons to refuse a run before anything is allocated
        (default: `check_spec` against the limits).
    gpus: the GPU slots (default: `limits.max_gpu_jobs` per GPU of this machine, listed when
        the first GPU run comes).
    """

    def __init__(self, limits: Limits | None = None, run_fn: RunFn = DEFAULT_RUN_FN, *,
                 worker: str | None = None, preflight: Callable[[RunSpec], list[str]] | None = None,
                 gpus: GpuPool | None = None):
        super().__init__(limits)
        self.gpus = gpus or GpuPool(self.limits.max_gpu_jobs)
        self._gpu_need: dict[Job, int] = {}  # each GPU job's estimated memory, until it ends
        self._gpu_placed: dict[Job, str] = {}  # the cuda:i each started GPU job runs on
        self._kind = worker or self.limits.worker
        self._run_fn = run_fn
        self._preflight = preflight or partial(check_spec, self.limits)
        self._queue: deque[Job] = deque()
        self._running: set[Job] = set()
        self._ids = itertools.count(1)
        self._workers: dict[str, ThreadWorker | ProcessWorker] = {}
        if self._kind in ("process", "auto"):
            self._worker("process")  # warm it up now, not when the first student clicks

    # --- submitting and queueing ------------------------------------------------------------
    def submit(self, spec: RunSpec, owner: str, *, weights_dir: Path | None = None) -> Job:
        """Queue the run, or raise JobRefused. With `weights_dir` (a folder of the owner's), the
        job keeps its weights there once it has ended instead of in memory (trainers.job)."""
        reasons = list(self._preflight(spec))
        gpu_need = gpu_estimate(spec) if is_gpu(spec) else None
        if gpu_need is not None and not reasons:
            refusal = self.gpus.refusal(device_of(spec), gpu_need, spec.config.batch_size)
            reasons += [refusal] if refusal else []
        with self._lock:
            if self._closed.is_set():
                raise JobRefused([SHUTTING_DOWN])
            active = self._active_count(owner)
            if active >= self.limits.runs_per_session:
                reasons.append(too_many_runs(active))
            if reasons:
                raise JobRefused(reasons)
            job = self._new_job(f"run-{next(self._ids)}", spec, owner, weights_dir)
            if gpu_need is not None:
                self._gpu_need[job] = gpu_need
            self._keep(job)
            self._queue.append(job)
        self._start_waiting()
        return job

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to start (among the jobs waiting for the same kind of slot, CPU
        or GPU); None when the job is not waiting."""
        with self._lock:
            same_kind = [q for q in self._queue if (q in self._gpu_need) == (job in self._gpu_need)]
            for position, queued in enumerate(same_kind, start=1):
                if queued is job:
                    return position
        return None

    def queue_reason(self, job: Job) -> str | None:
        """Why a waiting GPU job has not started (slots or memory); None for any other job."""
        with self._lock:
            need = self._gpu_need.get(job) if job in self._queue else None
        return None if need is None else self.gpus.wait_reason(device_of(job.spec), need)

    def _start_waiting(self) -> None:
        """Start queued jobs while slots are free (outside the lock: a start may block briefly)."""
        while True:
            with self._lock:
                job = self._next_to_start()
                if job is None:
                    return
                self._queue.remove(job)
                self._running.add(job)
            job._start(self._worker(self._kind_for(job.spec)))

    def _next_to_start(self) -> Job | None:
        """The first queued CPU job if a CPU slot is free, or the first GPU job once it has a
        GPU (placed, its device set to that cuda:i); FIFO within each kind. Under the lock."""
        cpu_running = sum(1 for job in self._running if job not in self._gpu_need)
        first_gpu_job = True
        for job in self._queue:
            need = self._gpu_need.get(job)
            if need is None:
                if cpu_running < self.limits.max_jobs:
                    return job
                continue
            if not first_gpu_job:
                continue  # an earlier GPU job is still waiting: keep the order
            first_gpu_job = False
            gpu = self.gpus.place(device_of(job.spec), need)
            if gpu is not None:
                self._gpu_placed[job] = gpu
                config = job.spec.config.model_copy(update={"device": gpu})
                job.spec = job.spec.model_copy(update={"config": config})
                return job
        return None

    def _dequeue(self, job: Job) -> bool:
        """Take a job out of the queue before it started (Job.stop on a queued job)."""
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)
                return True
        return False

    def _job_ended(self, job: Job) -> None:
        with self._lock:
            self._running.discard(job)
            need, gpu = self._gpu_need.pop(job, None), self._gpu_placed.pop(job, None)
        if gpu is not None:
            self.gpus.release(gpu, need)
        if not self._closed.is_set():
            self._start_waiting()

    # --- workers ----------------------------------------------------------------------------
    def _kind_for(self, spec: RunSpec) -> str:
        return choose_worker(device_of(spec)) if self._kind == "auto" else self._kind

    def _worker(self, kind: str) -> ThreadWorker | ProcessWorker:
        with self._lock:
            if kind not in self._workers:
                limits = self.limits
                self._workers[kind] = (
                    ThreadWorker(self._run_fn, limits.threads_per_job) if kind == "thread" else
                    ProcessWorker(self._run_fn, limits.threads_per_job, limits.run_memory_mb,
                                  limits.stop_grace_s))
            return self._workers[kind]

    def wait_warm(self, timeout: float = 30.0) -> bool:
        """Block until process workers (if used) start warm; for tests and benchmarks."""
        worker = self._workers.get("process")
        return worker.wait_warm(timeout) if worker else True

    def _close_workers(self) -> None:
        for worker in list(self._workers.values()):
            worker.close()


def check_spec(limits: Limits, spec: RunSpec) -> list[str]:
    """The limits' verdict on a run, from shape inference alone: nothing is allocated.

    Graph mistakes are not refused here: the run reports them, naming the nodes.
    """
    report = validate(spec.graph)
    return limits.check_run(report, dataset_size(spec), spec.config.epochs, spec.config.batch_size)


def is_gpu(spec: RunSpec) -> bool:
    return device_of(spec).startswith("cuda")


def gpu_estimate(spec: RunSpec) -> int:
    """The run's GPU memory in bytes, from shape inference (trainers.gpu)."""
    report = validate(spec.graph)
    return estimate_gpu_bytes(report, spec.config, dataset_bytes(report, dataset_size(spec)))
