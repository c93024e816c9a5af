"""The session's training runs, and the server-wide job manager that executes them.

Other pages use three things from here:

- `session_runs() -> list[Run]`: this browser session's runs, oldest first. Each `Run` keeps its
  own copy of the graph it trained (so editing the graph on Build never disturbs it), the dataset
  and options, the settings, and its `job` (`trainers.jobs.Job`).
- `latest_run() -> Run | None`: the newest run, the one the Train page shows live.
- `run.job.model_snapshot()`: a CPU copy of the run's latest good weights in eval mode, safe to
  probe while the run keeps training (Inspect uses it); `run.job.metrics()` its curves so far.

Starting: `start_run(graph, dataset, dataset_options, config)`; forking a run from its latest
weights with other settings: `fork_run(run, config)`.

Disconnect policy. Streamlit releases a session's `scope="session"` resources the moment its
websocket drops, but keeps `st.session_state` for `server.disconnectedSessionTTL` seconds (120 by
default) in case the browser reconnects. Ending jobs on that release would kill a class's runs on
every Wi-Fi blip, so the release only *schedules* the end of the session's jobs after that same
TTL; a reconnect within it reruns the page, which takes the lease again and cancels the end
(and a session found connected again when the TTL is up is simply checked again later).
A closed tab therefore frees its jobs, and the session's files, within the TTL; a blip costs
nothing. A reload (or the tab reopened) within the TTL is a new session of the same browser:
`adopt_runs` hands it the old session's runs and cancels their end (ui/reattach.py).
"""
from __future__ import annotations

import copy
import hashlib
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import safetensors.torch
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from trainers.config import RunSpec, TrainConfig
from trainers.backends import make_job_manager
from trainers.job_book import JobBook
from trainers.jobs import Job
from trainers.limits import Limits
from trainers.metrics import MetricsSnapshot
from ui.notices import notify
from viz.training import RunCurves, run_curves

_OWNER = "layerloom.owner"
_RUNS = "layerloom.runs"


@dataclass
class Run:
    """One training run of this session."""
    number: int  # 1, 2, ... in the order the session started them
    graph: dict  # the graph as it was when the run started (a private copy)
    dataset: str
    dataset_options: dict
    config: TrainConfig
    job: Job
    forked_from: int | None = None  # the run number whose weights this run started from
    start_epoch: float = 0.0  # where on the parent's epoch axis a fork took its weights
    label: str | None = None  # what the run stands for, e.g. a lesson's "Sigmoid"

    @property
    def name(self) -> str:
        """"Run 3 · adam lr 0.001", and each setting changed on resume: "lr 0.003→0.03"; a
        labelled run (a lesson's) says what it stands for: "Run 3 · Sigmoid"."""
        return self._name(self.job.metrics().events)

    @property
    def started_as(self) -> str:
        """The name as the run started ("Run 3 · adam lr 0.003"), for selectors: a widget's option
        labels must stay the same from one page run to the next, or the pick is lost."""
        return self._name([])

    def _name(self, events: list[dict]) -> str:
        if self.label:
            return f"Run {self.number} · {self.label}"
        return f"Run {self.number} · {self.config.optimizer} {settings_label(self.config, events)}"

    @property
    def finished(self) -> bool:
        return self.job.ended

    def curves(self, snapshot: MetricsSnapshot | None = None) -> RunCurves:
        """The run's curves (from `snapshot`, else the job's metrics now), ready for
        `viz.training.loss_figure` / `metric_figure`."""
        progress = self.job.progress()
        steps_per_epoch = (progress.total_steps or 0) / max(progress.epochs, 1)
        return run_curves(self.name, snapshot or self.job.metrics(), steps_per_epoch or 1.0,
                          self.start_epoch)

    def epoch_now(self) -> float:
        """Where the run's latest weights sit on its (parent's) epoch axis."""
        progress = self.job.progress()
        steps_per_epoch = (progress.total_steps or 0) / max(progress.epochs, 1)
        done = progress.step / steps_per_epoch if steps_per_epoch else progress.epoch
        return self.start_epoch + done

    def weights_bytes(self) -> bytes | None:
        """The latest good weights as a safetensors file; None before the first weights."""
        weights = self.job.weights()
        if weights is None:
            return None
        return safetensors.torch.save({name: tensor.contiguous() for name, tensor
                                       in weights.items()})


def setting_history(config: TrainConfig, events: list[dict]) -> dict[str, str]:
    """Each setting changed on resume, and lr always, as its values in turn: {"lr": "0.003→0.03"}."""
    values = {"lr": [config.lr]}
    for event in (e for e in events if e.get("kind") == "config_changed"):
        for field, value in event["changes"].items():
            history = values.setdefault(field, [getattr(config, field)])
            if value != history[-1]:
                history.append(value)
    return {field: "→".join(f"{v:g}" if isinstance(v, float) else str(v) for v in history)
            for field, history in values.items() if field == "lr" or len(history) > 1}


def settings_label(config: TrainConfig, events: list[dict]) -> str:
    """"lr 0.003→0.03" after a resume with a new lr; other settings appear once they changed."""
    return " · ".join(f"{field} {values}" for field, values in setting_history(config, events).items())


@st.cache_resource(show_spinner=False)
def limits() -> Limits:
    """The server's limits, read once from the environment (trainers.limits documents them)."""
    return Limits.from_env()


@st.cache_resource(show_spinner=False)
def job_manager() -> JobBook:
    """The one job manager of this server: every session's runs share its queue and limits
    (with LAYERLOOM_JOBS=ray, those of every replica: trainers.backends)."""
    return make_job_manager(limits())


def session_runs() -> list[Run]:
    """This session's runs, oldest first."""
    _hold_lease()
    return st.session_state.setdefault(_RUNS, [])


def latest_run() -> Run | None:
    """The session's newest run, or None before the first Start."""
    runs = session_runs()
    return runs[-1] if runs else None


def start_run(graph: dict, dataset: str, dataset_options: dict, config: TrainConfig, *,
              init_state: str | None = None, forked_from: int | None = None,
              start_epoch: float = 0.0, label: str | None = None) -> Run:
    """Queue a new run of `graph` on `dataset`; it starts as soon as the server has room.

    The graph is deep-copied, so later edits on the Build page leave the run alone. Raises
    `trainers.jobs.JobRefused` (its `reasons` say why) when the server refuses the run. Beyond
    the server's runs per session, the oldest finished runs are forgotten, each with a notice
    naming it (`next_to_drop()` says beforehand which one would go).
    """
    runs = session_runs()
    spec = RunSpec(graph=copy.deepcopy(graph), dataset=dataset,
                   dataset_options=dict(dataset_options), config=config, init_state=init_state)
    job = job_manager().submit(spec, owner=_owner())
    run = Run(number=_next_number(runs), graph=spec.graph, dataset=dataset,
              dataset_options=spec.dataset_options, config=config, job=job,
              forked_from=forked_from, start_epoch=start_epoch, label=label)
    runs.append(run)
    for dropped in _forget_oldest_finished(runs):
        notify("warning", f"{dropped.name} was dropped: this server keeps "
                          f"{limits().runs_per_session} runs per session, the newest.")
    return run


def next_to_drop() -> Run | None:
    """The run that starting one more would drop (the oldest finished one at the limit)."""
    runs = session_runs()
    if len(runs) < limits().runs_per_session:
        return None
    return next((run for run in runs if run.finished), None)


def fork_run(parent: Run, config: TrainConfig) -> Run:
    """A new run of the parent's graph and data, starting from its latest good weights.

    Raises NoWeightsYet when the parent has not produced weights yet."""
    weights = parent.weights_bytes()
    if weights is None:
        raise NoWeightsYet(f"{parent.name} has no weights yet; let it train a little first.")
    path = save_session_file(weights, ".safetensors")
    return start_run(parent.graph, parent.dataset, parent.dataset_options, config,
                     init_state=str(path), forked_from=parent.number, start_epoch=parent.epoch_now())


def owner_and_runs() -> tuple[str | None, list[Run]]:
    """This session's owner id (None before it needed one) and runs, as they stand now."""
    return st.session_state.get(_OWNER), st.session_state.get(_RUNS, [])


def adopt_runs(owner: str, runs: list[Run]) -> bool:
    """Take over the runs of this browser's session from before a reload (ui/reattach.py).

    Only while that session's end is still pending, i.e. within the TTL after its tab went
    away: then this session becomes their owner (its own files included) and the end is
    cancelled. False, adopting nothing, when they have ended already or this session has runs.
    """
    if st.session_state.get(_RUNS) or not _pending_ends().cancel(owner):
        return False
    st.session_state[_OWNER] = owner
    st.session_state[_RUNS] = runs
    _hold_lease()
    return True


def save_session_file(data: bytes, suffix: str) -> Path:
    """Keep `data` (an uploaded table, a fork's starting weights) where this session's runs can
    read it; named by content, so saving the same bytes twice keeps one file. The folder goes
    when the session's jobs are ended."""
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    path = _session_dir(_owner()) / f"{digest}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return path


def session_folder() -> Path:
    """This session's folder on the server's disk (removed with the session's jobs)."""
    return _session_dir(_owner())


class NoWeightsYet(RuntimeError):
    """A fork was asked of a run that has no weights to start from."""


def _forget_oldest_finished(runs: list[Run]) -> list[Run]:
    """Keep the session's list as long as the server keeps jobs per session; the runs dropped."""
    dropped = []
    while len(runs) > limits().runs_per_session:
        oldest_done = next((run for run in runs if run.finished), None)
        if oldest_done is None:
            break
        runs.remove(oldest_done)
        dropped.append(oldest_done)
    return dropped


def _session_dir(owner: str) -> Path:
    folder = Path(tempfile.gettempdir()) / "layerloom-sessions" / owner
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _next_number(runs: list[Run]) -> int:
    return runs[-1].number + 1 if runs else 1


def _owner() -> str:
    """A random id for this session's jobs; kept in session state, so it survives reconnects."""
    return st.session_state.setdefault(_OWNER, uuid.uuid4().hex)


# --- the disconnect policy (see the module docstring) ------------------------------------------
class _PendingEnds:
    """Owners whose session went away, each with a timer that ends their jobs unless cancelled.

    When the timer fires while the session is connected again (it came back but has not yet
    rerun a page that takes the lease), the check is simply repeated one grace period later.
    """

    def __init__(self, manager: JobBook, session_active: Callable[[str], bool]):
        self._manager, self._session_active = manager, session_active
        self._lock = threading.Lock()
        self._timers: dict[str, threading.Timer] = {}

    def schedule(self, owner: str, session_id: str, delay_s: float) -> None:
        timer = threading.Timer(delay_s, lambda: self._fire(timer, owner, session_id, delay_s))
        timer.daemon = True
        with self._lock:
            self._cancel_locked(owner)
            self._timers[owner] = timer
        timer.start()

    def cancel(self, owner: str) -> bool:
        """Cancel the owner's pending end; True when one was pending (its jobs still exist)."""
        with self._lock:
            return self._cancel_locked(owner)

    def _cancel_locked(self, owner: str) -> bool:
        timer = self._timers.pop(owner, None)
        if timer is not None:
            timer.cancel()
        return timer is not None

    def _fire(self, timer: threading.Timer, owner: str, session_id: str, delay_s: float) -> None:
        if self._session_active(session_id):
            self.schedule(owner, session_id, delay_s)
            return
        with self._lock:  # a cancel that won the race (a reload adopting the runs) keeps them
            if self._timers.get(owner) is not timer:
                return
            del self._timers[owner]
        self._manager.end_owner(owner)
        shutil.rmtree(_session_dir(owner), ignore_errors=True)


@st.cache_resource(show_spinner=False)
def _pending_ends() -> _PendingEnds:
    return _PendingEnds(job_manager(), Runtime.instance().is_active_session)


@dataclass(frozen=True)
class _Lease:
    """What the session-scoped cache holds for a session; releasing it starts the grace period."""
    owner: str
    session_id: str
    pending: _PendingEnds
    grace_s: float


def _release(lease: _Lease) -> None:
    """Called by Streamlit, outside any script run, when the session disconnects."""
    lease.pending.schedule(lease.owner, lease.session_id, lease.grace_s)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _lease(owner: str) -> _Lease:
    pending = _pending_ends()
    pending.cancel(owner)  # the session came back in time: its runs go on
    return _Lease(owner, get_script_run_ctx().session_id, pending,
                  float(st.get_option("server.disconnectedSessionTTL")))


def _hold_lease() -> None:
    _lease(_owner())
