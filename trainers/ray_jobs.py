"""The Ray back end: app replicas share one queue, and runs execute anywhere in a Ray cluster.

Chosen with `LAYERLOOM_JOBS=ray` (trainers.backends). Each app process (replica) has one
RayJobManager; it keeps its sessions' Job objects (the same trainers.job.Job the pages use with
local workers) and submits them to the cluster-wide trainers.cluster_queue.ClusterQueue, a named
detached actor that owns the slots and the limits. When the queue grants a slot, the replica
starts the run as a trainers.ray_run.RunActor (one CPU per torch thread, or a share of a GPU)
and a pump thread drains its events into the Job, as a process worker's pump does.

The run actors belong to the replica that started them: Ray ends them if that replica dies,
and the queue frees their slots once the replica stops polling. A run whose actor is lost (its
machine left the cluster, or its process crashed) fails with a message, keeping the metrics and
weights it had sent.
"""
from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import ray
from ray.exceptions import GetTimeoutError, RayActorError

from trainers.cluster_queue import ClusterQueue
from trainers.config import RunSpec
from trainers.job import Job
from trainers.job_book import SHUTTING_DOWN, JobBook, JobRefused
from trainers.jobs import DEFAULT_RUN_FN, check_spec, is_gpu
from trainers.limits import Limits
from trainers.process_worker import _from_wire
from trainers.ray_run import RunActor, ship_files
from trainers.workers import RunFn, run_fn_reference

NAMESPACE = "layerloom"
QUEUE_NAME = "layerloom-jobs"
POLL_S = 0.25  # how often a replica asks the queue, and a pump a run, for news
REPO_ROOT = Path(__file__).resolve().parent.parent
LOST_RUN = ("The machine running this run left the cluster, or its worker process died "
            "({cause}). Other runs are not affected; the last good weights and metrics are kept.")


def connect(address: str | None = None) -> None:
    """Join the Ray cluster at `address` ("auto": the one started on this machine), unless this
    process is connected already. Workers import LayerLoom from the same path as this app."""
    if ray.is_initialized():
        return
    if address and address != "auto":
        _check_reachable(address)
    ray.init(address=address or "auto", namespace=NAMESPACE, logging_level="ERROR",
             log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT)}})


def _check_reachable(address: str) -> None:
    """Fail at once when nothing listens at `address` (ray.init would retry for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise ConnectionError(f"nothing answers at {address}: {exc}") from exc


class RayJobManager(JobBook):
    """A JobManager whose runs wait in the cluster's queue and train in Ray actors.

    queue_name: the shared queue's actor name; every replica of one app uses the same one. The
    first replica to connect creates it with its limits (max_jobs, runs_per_session).
    """

    def __init__(self, limits: Limits | None = None, run_fn: RunFn = DEFAULT_RUN_FN, *,
                 address: str | None = None, queue_name: str = QUEUE_NAME,
                 preflight: Callable[[RunSpec], list[str]] | None = None):
        super().__init__(limits)
        connect(address)
        self._preflight = preflight or partial(check_spec, self.limits)
        self.replica, self.queue_name = uuid.uuid4().hex[:12], queue_name
        self.queue = ray.remote(ClusterQueue).options(
            name=queue_name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
            num_cpus=0).remote(self.limits.max_jobs, self.limits.runs_per_session)
        self._worker = RayWorker(run_fn_reference(run_fn), self.limits)
        self._waiting: dict[str, Job] = {}  # this replica's jobs not yet granted a slot
        self._granted: dict[str, Job] = {}  # granted, not yet ended
        self._positions: dict[str, int] = {}
        self._wake = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="layerloom-ray-poll",
                                        daemon=True)
        self._poller.start()

    def submit(self, spec: RunSpec, owner: str, *, weights_dir: Path | None = None) -> Job:
        if self._closed.is_set():
            raise JobRefused([SHUTTING_DOWN])
        reasons = list(self._preflight(spec))
        if reasons:
            raise JobRefused(reasons)
        job = self._new_job(f"run-{uuid.uuid4().hex[:10]}", spec, owner, weights_dir)
        refused = ray.get(self.queue.submit.remote(job.id, self.replica, owner, is_gpu(spec),
                                                   self._ended_ids(owner)))
        if refused:
            raise JobRefused(refused)
        with self._lock:
            self._keep(job)
            self._waiting[job.id] = job
        self._wake.set()  # ask the queue now rather than at the next tick
        return job

    # --- what Job asks of its manager -----------------------------------------------------------
    def queue_position(self, job: Job) -> int | None:
        with self._lock:
            return self._positions.get(job.id) if job.id in self._waiting else None

    def queue_reason(self, job: Job) -> str | None:
        return None  # GPU runs wait inside Ray for a GPU share, not in our queue

    def _dequeue(self, job: Job) -> bool:
        if not ray.get(self.queue.cancel.remote(job.id)):
            return False  # it has a slot already: the start sees the stop and ends it
        positions = ray.get(self.queue.positions.remote(self.replica))
        with self._lock:
            self._waiting.pop(job.id, None)
            self._positions = positions
        return True

    def _job_ended(self, job: Job) -> None:
        with self._lock:
            self._waiting.pop(job.id, None)
            self._granted.pop(job.id, None)
        ray.get(self.queue.release.remote(job.id))
        self._wake.set()

    # --- the replica's heartbeat ------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                waiting, running = (tuple((job.id, job.owner, is_gpu(job.spec))
                                          for job in jobs.values())
                                    for jobs in (self._waiting, self._granted))
            try:
                reply = ray.get(self.queue.poll.remote(self.replica, waiting, running), timeout=30)
            except (GetTimeoutError, RayActorError):
                reply = {"start": [], "positions": self._positions}  # the head is busy or away
            with self._lock:
                self._positions = reply["positions"]
                granted = [(job_id, self._waiting.pop(job_id, None)) for job_id in reply["start"]]
                self._granted.update((job_id, job) for job_id, job in granted if job is not None)
            for job_id, job in granted:
                if job is None:  # forgotten meanwhile (its session ended)
                    ray.get(self.queue.release.remote(job_id))
                else:
                    job._start(self._worker)
            self._wake.wait(POLL_S)
            self._wake.clear()

    def _close_workers(self) -> None:
        self._wake.set()
        self._poller.join(5)
        try:
            ray.get(self.queue.forget_replica.remote(self.replica), timeout=10)
        except (GetTimeoutError, RayActorError):
            pass  # the queue went with the cluster: nothing of ours is left in it


class RayWorker:
    """Starts each granted run as a RunActor; the worker protocol of trainers.workers."""
    kind = "ray"

    def __init__(self, run_fn: str, limits: Limits):
        self._run_fn, self._limits = run_fn, limits
        self._actor_class = ray.remote(RunActor)

    def start(self, name: str, spec: RunSpec, emit, on_exit) -> RayHandle:
        options = {"num_cpus": self._limits.threads_per_job, "name": f"layerloom-{name}",
                   "namespace": NAMESPACE, "max_restarts": 0, "max_task_retries": 0}
        if is_gpu(spec):  # Ray makes the share it grants the actor's only visible GPU
            options["num_gpus"] = 1 / self._limits.max_gpu_jobs
            config = spec.config.model_copy(update={"device": "cuda"})
            spec = spec.model_copy(update={"config": config})
        actor = self._actor_class.options(**options).remote(
            self._run_fn, self._limits.threads_per_job, self._limits.run_memory_mb)
        actor.start.remote(*ship_files(spec))
        return RayHandle(actor, emit, on_exit, self._limits.stop_grace_s)


class RayControl:
    """The owner's side of RunControl, sent to the run's actor."""

    def __init__(self, actor):
        self._actor = actor
        self.stop_requested = False

    def request_stop(self) -> None:
        self.stop_requested = True
        self._actor.stop.remote()

    def pause(self) -> None:
        self._actor.pause.remote()

    def resume(self, overrides: dict | None = None) -> None:
        self._actor.resume.remote(overrides)


class RayHandle:
    def __init__(self, actor, emit, on_exit, stop_grace_s: float):
        self.actor, self.control = actor, RayControl(actor)
        self._emit, self._on_exit, self._grace = emit, on_exit, stop_grace_s
        self._killed = False
        self._pump = threading.Thread(target=self._run_pump, name="layerloom-ray-pump",
                                      daemon=True)
        self._pump.start()

    def hard_stop(self) -> bool:
        self._killed = True
        ray.kill(self.actor, no_restart=True)
        return True

    def join(self, timeout: float | None = None) -> bool:
        self._pump.join(timeout)
        return not self._pump.is_alive()

    def _run_pump(self) -> None:
        try:
            error = self._forward_events()
        except RayActorError as exc:
            error = None if self._killed else LOST_RUN.format(cause=type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a bug of ours must still end the job
            error = f"LayerLoom lost track of this run ({type(exc).__name__}: {exc})."
        if not self._killed:
            self.hard_stop()  # its events are all drained: free its CPU or GPU share now
        self._on_exit(error)

    def _forward_events(self) -> str | None:
        """Pass the actor's events on (killing it if a stop is not obeyed in time) until the run
        is over; the error it reported, if any. A killed actor raises RayActorError here."""
        stop_seen_at, pending = None, None
        while True:
            if self.control.stop_requested and not self._killed:
                stop_seen_at = stop_seen_at or time.monotonic()
                if time.monotonic() - stop_seen_at > self._grace:
                    self.hard_stop()
            # An actor still waiting for a free CPU or GPU answers once it is placed; the same
            # call is awaited again, since every drain it answers takes events away.
            pending = pending or self.actor.drain.remote()
            try:
                reply = ray.get(pending, timeout=1.0)
            except GetTimeoutError:
                continue
            pending = None
            for event in reply["events"]:
                self._emit(_from_wire(event))
            if reply["ended"]:
                return reply["error"]
            time.sleep(POLL_S)

