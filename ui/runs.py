"""The session's training runs (the server-wide job manager that executes them, the session's
owner id and folder: ui/session_lease.py).

Other pages use three things from here:

- `session_runs() -> list[Run]`: this browser session's runs, oldest first. Each `Run` keeps its
  own copy of the graph it trained (so editing the graph on Build never disturbs it), the dataset
  and options, the settings, and its `job` (`trainers.jobs.Job`).
- `latest_run() -> Run | None`: the newest run, the one the Train page shows live.
- `run.job.model_snapshot()`: a CPU copy of the run's latest good weights in eval mode, safe to
  probe while the run keeps training (Inspect uses it); `run.job.metrics()` its curves so far.
  An ended run's weights are kept in the session's folder, not in memory (trainers.job), and
  read when a page asks for them; `run.job.has_weights()` says whether there are any.

Starting: `start_run(graph, dataset, dataset_options, config)`; forking a run from its latest
weights with other settings: `fork_run(run, config)`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import safetensors.torch
import streamlit as st

from trainers.config import RunSpec, TrainConfig
from trainers.jobs import Job
from trainers.metrics import MetricsSnapshot
from ui.notices import notify
from ui.session_lease import (adopt_owner, current_owner, hold_lease, job_manager, limits, owner,
                              save_session_file, session_folder)
from viz.training import RunCurves, run_curves

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
        if (path := self.job.weights_file()) is not None:
            try:
                return path.read_bytes()  # an ended run's, as kept
            except FileNotFoundError:  # forgotten meanwhile
                return None
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


def session_runs() -> list[Run]:
    """This session's runs, oldest first."""
    hold_lease()
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
    job = job_manager().submit(spec, owner=owner(), weights_dir=session_folder())
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
    return current_owner(), st.session_state.get(_RUNS, [])


def adopt_runs(owner: str, runs: list[Run]) -> bool:
    """Take over the runs of this browser's session from before a reload (ui/reattach.py).

    Only while that session's end is still pending, i.e. within the TTL after its tab went
    away: then this session becomes their owner (its own files included) and the end is
    cancelled. False, adopting nothing, when they have ended already or this session has runs.
    """
    if st.session_state.get(_RUNS) or not adopt_owner(owner):
        return False
    st.session_state[_RUNS] = runs
    return True


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


def _next_number(runs: list[Run]) -> int:
    return runs[-1].number + 1 if runs else 1
