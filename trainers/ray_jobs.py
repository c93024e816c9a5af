"""The Ray back end: app replicas share one queue, and runs execute anywhere in a Ray cluster.

Chosen with `LAYERLOOM_JOBS=ray` (trainers.backends). Each app process (replica) has one
RayJobManager; it keeps its sessions' Job objects (the same trainers.job.Job the pages use with
local workers) and submits them to the cluster-wide trainers.cluster_queue.ClusterQueue, a named
detached actor that owns the slots, the limits and each slot's warm runner (trainers.ray_pool).
When the queue grants a slot, the replica starts the run on that slot's runner (a GPU run: on
a fresh trainers.ray_run.RunActor holding a share of a GPU) and a pump thread drains its
events into the Job, as a process worker's pump does.

A replica that dies stops polling: the queue then frees its slots and replaces their runners
(ending the runs that trained there); its GPU runs' actors belong to it, so Ray ends them with
it. A run whose actor is lost (its machine left the cluster, or its process crashed) fails with
a message, keeping the metrics and weights it had sent, and its slot gets a fresh runner.
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

from trainers.config import RunSpec
from trainers.job import Job
from trainers.job_book import SHUTTING_DOWN, JobBook, JobRefused
from trainers.jobs import DEFAULT_RUN_FN, check_spec, is_gpu
from trainers.limits import Limits
from trainers.process_worker import WARM_MODULES, _from_wire
from trainers.ray_pool import NAMESPACE, RunnerQueue, remove_queue
from trainers.ray_run import RunActor, ship_files
from trainers.workers import PumpedHandle, RunFn, run_fn_reference

__all__ = ["RayJobManager", "NAMESPACE", "remove_queue"]

QUEUE_NAME = "layerloom-jobs"
POLL_S = 0.25  # how often a replica asks the queue, and a pump a run, for news
REPO_ROOT = Path(__file__).resolve().parent.parent
BUSY_RUNNER = ("The run could not start: the runner of its slot was still busy with a run of a "
               "replica taken for dead. Start it again.")
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
    first replica to connect creates it with its limits (max_jobs, runs_per_session,
    threads_per_job) and its run function's module for the runners to import.
    """

    def __init__(self, limits: Limits | None = None, run_fn: RunFn = DEFAULT_RUN_FN, *,
                 address: str | None = None, queue_name: str = QUEUE_NAME,
                 preflight: Callable[[RunSpec], list[str]] | None = None):
        super().__init__(limits)
        connect(address)
        self._preflight = preflight or partial(check_spec, self.limits)
        self.replica, self.queue_name = uuid.uuid4().hex[:12], queue_name
        run_fn = run_fn_reference(run_fn)
        self.queue = ray.remote(RunnerQueue).options(
            name=queue_name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
            num_cpus=0).remote(self.limits.max_jobs, self.limits.runs_per_session,
                               name=queue_name, threads=self.limits.threads_per_job,
                               warm_modules=[*WARM_MODULES, run_fn.partition(":")[0]])
        self._worker = RayWorker(run_fn, self.limits, self.queue)
        self._waiting: dict[str, Job] = {}  # this replica's jobs not yet granted a slot
        self._granted: dict[str, Job] = {}  # granted, not yet ended
        self._slots: dict[str, int | None] = {}  # each granted job's slot
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
        with self._lock:  # waiting before the queue has it: a poll may grant it at once
            self._waiting[job.id] = job
        refused = ray.get(self.queue.submit.remote(job.id, self.replica, owner, is_gpu(spec),
                                                   self._ended_ids(owner)))
        with self._lock:
            if refused:
                del self._waiting[job.id]
            else:
                self._keep(job)
        if refused:
            raise JobRefused(refused)
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
            self._slots.pop(job.id, None)
        ray.get(self.queue.release.remote(job.id))
        self._wake.set()

    # --- the replica's heartbeat ------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                waiting = tuple((job.id, job.owner, is_gpu(job.spec))
                                for job in self._waiting.values())
                running = tuple((job.id, job.owner, is_gpu(job.spec), self._slots.get(job.id))
                                for job in self._granted.values())
            try:
                reply = ray.get(self.queue.poll.remote(self.replica, waiting, running), timeout=30)
            except (GetTimeoutError, RayActorError):
                reply = {"start": [], "positions": self._positions}  # the head is busy or away
            with self._lock:
                self._positions = reply["positions"]
                granted = [(self._waiting.pop(job_id, None), job_id, slot, runner)
                           for job_id, slot, runner in reply["start"]]
                for job, job_id, slot, _ in granted:
                    if job is not None:
                        self._granted[job_id], self._slots[job_id] = job, slot
            for job, job_id, slot, runner in granted:
                if job is None:  # forgotten meanwhile (its session ended)
                    ray.get(self.queue.release.remote(job_id))
                else:
                    self._worker.assign(job_id, slot, runner)
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
    """Starts each granted run on its slot's warm runner (a GPU run: on a RunActor of its own);
    the worker protocol of trainers.workers."""
    kind = "ray"

    def __init__(self, run_fn: str, limits: Limits, queue):
        self._run_fn, self._limits, self._queue = run_fn, limits, queue
        self._actor_class = ray.remote(RunActor)
        self._assigned: dict[str, tuple[int | None, object]] = {}  # job id -> (slot, runner)

    def assign(self, name: str, slot: int | None, runner) -> None:
        """The slot and runner the queue granted run `name`, for `start` to use."""
        self._assigned[name] = (slot, runner)

    def start(self, name: str, spec: RunSpec, emit, on_exit) -> RayHandle:
        slot, runner = self._assigned.pop(name, (None, None))
        if runner is None:  # a GPU run: Ray makes the share it grants the actor's only GPU
            config = spec.config.model_copy(update={"device": "cuda"})
            spec = spec.model_copy(update={"config": config})
            runner = self._actor_class.options(
                name=f"layerloom-{name}", namespace=NAMESPACE, max_restarts=0,
                max_task_retries=0, num_cpus=0, num_gpus=1 / self._limits.max_gpu_jobs,
            ).remote(WARM_MODULES)
        started = runner.start.remote(name, self._run_fn, *ship_files(spec),
                                      self._limits.threads_per_job, self._limits.run_memory_mb)
        if slot is None:
            retire = partial(ray.kill, runner, no_restart=True)  # its share of a GPU goes back
        else:
            retire = partial(self._queue.replace_runner.remote, slot, runner)
        return RayHandle(runner, name, started, emit, on_exit, self._limits.stop_grace_s,
                         retire=retire, pooled=slot is not None)


class RayControl:
    """The owner's side of RunControl, sent to the run's actor."""

    def __init__(self, actor, run_id: str):
        self._actor, self._run_id = actor, run_id
        self.stop_requested = False

    def request_stop(self) -> None:
        self.stop_requested = True
        self._actor.stop.remote(self._run_id)

    def pause(self) -> None:
        self._actor.pause.remote(self._run_id)

    def resume(self, overrides: dict | None = None) -> None:
        self._actor.resume.remote(self._run_id, overrides)


class RayHandle(PumpedHandle):
    """Forwards one run's events from its actor to the Job. After the run, a pooled runner
    that is still sound takes the slot's next run; any other actor is retired (`retire`: a
    GPU run's actor is killed, a runner replaced by the queue)."""

    def __init__(self, actor, run_id: str, started, emit, on_exit, stop_grace_s: float, *,
                 retire: Callable[[], object], pooled: bool):
        super().__init__(RayControl(actor, run_id), stop_grace_s, "layerloom-ray-pump")
        self.actor, self._run_id, self._started = actor, run_id, started
        self._emit, self._on_exit = emit, on_exit
        self._retire, self._pooled = retire, pooled
        self._pump.start()

    def _kill(self) -> None:
        ray.kill(self.actor, no_restart=True)

    def _run_pump(self) -> None:
        reusable = False
        try:
            error, reusable = self._forward_events()
        except RayActorError as exc:
            error = None if self._killed else LOST_RUN.format(cause=type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a bug of ours must still end the job
            error = f"LayerLoom lost track of this run ({type(exc).__name__}: {exc})."
        if self._killed or not (self._pooled and reusable):
            self._retire()  # before the slot is released, so its next run gets a sound runner
        self._on_exit(error)

    def _forward_events(self) -> tuple[str | None, bool]:
        """Pass the actor's events on (killing it if a stop is not obeyed in time) until the run
        is over; (the error it reported, if any; whether the actor may train again). A killed
        actor raises RayActorError here."""
        pending = self._started
        while True:
            self._enforce_stop_grace()
            # An actor still starting (or waiting for a free CPU or GPU) answers once it is
            # placed; the same call is awaited again, since every drain it answers takes events.
            try:
                reply = ray.get(pending, timeout=1.0)
            except GetTimeoutError:
                continue
            if pending is self._started:
                if not reply:
                    return BUSY_RUNNER, False
            else:
                for event in reply["events"]:
                    self._emit(_from_wire(event))
                if reply["ended"]:
                    return reply["error"], reply["reusable"]
                time.sleep(POLL_S)
            pending = self.actor.drain.remote(self._run_id)
