"""One training run as the pages see it: status, progress, metrics, controls, the current model.

A Job is created by JobManager.submit. Its worker calls `_on_event` for every event and `_on_exit`
once at the end (from the worker's thread, or a process worker's pump thread); pages call the
public methods from their own threads, so all state is guarded by one lock.

Weights: a running job holds its latest good weights in memory (at most the job slots' worth).
Given a `weights_file`, an ended job (finished, stopped or failed) writes them there as
safetensors and lets the memory go; `weights()` then reads the file on demand. So a class's
ended runs cost the server disk, not memory (a 5 M-parameter run is 20 MB either way).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import safetensors.torch
import torch

from builder import compile_graph
from trainers.config import ConfigError, RunSpec, apply_overrides
from trainers.metrics import MetricsHistory, MetricsSnapshot


@dataclass(frozen=True)
class Progress:
    epoch: int  # epochs completed
    epochs: int
    step: int
    total_steps: int | None  # known once the loop says so, or after the first epoch
    samples_per_s: float | None
    eta_s: float | None
    fraction: float  # 0..1


class Job:
    """status: queued -> running <-> paused -> stopped | finished | failed (`error` says why).

    `ended` is True in the last three; `wait(timeout)` blocks until then.
    """

    def __init__(self, job_id: str, spec: RunSpec, owner: str, manager, *,
                 max_epochs: int | None = None, weights_file: Path | None = None):
        self.id, self.spec, self.owner = job_id, spec, owner
        self._weights_file = weights_file  # where the weights go once the job has ended
        self.created_at = time.time()
        self._manager = manager
        self._max_epochs = max_epochs  # the server's sample-epochs limit, held on resume too
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._status, self._error = "queued", None
        self._handle = None
        self._stop_requested = False
        self._finishing = False
        self._history = MetricsHistory()
        self._alerts: list[dict] = []
        self._weights: dict | None = None  # in memory while the job runs
        self._weights_on_disk = False  # ... in `_weights_file` once it has ended
        self._weights_version = 0  # counts weights events: a page can tell new weights apart
        self._result: dict | None = None
        self._epochs = spec.config.epochs
        self._step = self._epochs_done = 0
        self._steps_per_epoch: int | None = None
        self._total_steps: int | None = None
        self._samples_per_s: float | None = None

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.status} owner={self.owner!r}>"

    # --- reading ------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        return self._status

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    @property
    def result(self) -> dict | None:
        """The loop's final metrics (its "done" event), once the run has finished."""
        return self._result

    def queue_position(self) -> int | None:
        return self._manager.queue_position(self)

    def queue_reason(self) -> str | None:
        """Why a queued GPU run waits (GPU slots or memory); None otherwise."""
        return self._manager.queue_reason(self)

    def progress(self) -> Progress:
        with self._lock:
            total = self._total_steps or (self._steps_per_epoch and self._steps_per_epoch * self._epochs)
            if self._status == "finished":
                fraction = 1.0
            elif total:
                fraction = min(1.0, self._step / total)
            else:
                fraction = min(1.0, self._epochs_done / self._epochs)
            eta = None
            if total and self._samples_per_s and not self.ended:  # the loop's rate leaves out pauses
                eta = (total - self._step) * self.spec.config.batch_size / self._samples_per_s
            return Progress(self._epochs_done, self._epochs, self._step, total or None,
                            self._samples_per_s, eta, fraction)

    def metrics(self) -> MetricsSnapshot:
        return self._history.snapshot()

    def metrics_csv(self) -> str:
        """One row per epoch: losses, the task's metric, lr and each layer's gradient norm."""
        return self._history.to_csv()

    def alerts(self) -> list[dict]:
        with self._lock:
            return list(self._alerts)

    def weights(self) -> dict | None:
        """The latest good weights ({name: CPU tensor}; a running job's are shared: copy before
        changing); None before the run's first weights event. An ended job's are read from its
        weights file (safetensors) on every call: keep them no longer than needed."""
        with self._lock:
            if not self._weights_on_disk:
                return self._weights
        try:
            return safetensors.torch.load_file(self._weights_file)
        except FileNotFoundError:  # forgotten meanwhile (its session ended)
            return None

    def has_weights(self) -> bool:
        """Whether `weights()` has weights to give, without reading them."""
        with self._lock:
            return self._weights is not None or self._weights_on_disk

    def weights_file(self) -> Path | None:
        """The safetensors file of an ended job's weights (None while it runs or keeps them in
        memory): a download can send it as it is."""
        with self._lock:
            return self._weights_file if self._weights_on_disk else None

    def weights_version(self) -> int:
        """How many times the weights have been replaced (0 before the first); unlike a reference
        to them, remembering it keeps no old weights alive."""
        with self._lock:
            return self._weights_version

    def model_snapshot(self):
        """A CPU copy of the model with the latest good weights, in eval mode; None before any.

        Built without initial weights (on the meta device), then given the weights themselves:
        one copy of the weights per snapshot, not two, and no random initialisation."""
        with self._lock:
            running = not self._weights_on_disk
        weights = self.weights()
        if weights is None:
            return None
        if running:  # shared with the job: the snapshot gets its own
            weights = {name: tensor.clone() for name, tensor in weights.items()}
        with torch.device("meta"):
            model = compile_graph(self.spec.graph)
        model.load_state_dict(weights, assign=True)
        if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
            model = compile_graph(self.spec.graph)  # a state the weights do not cover
            model.load_state_dict(weights)
        return model.eval()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (True) or `timeout` seconds passed (False)."""
        return self._ended.wait(timeout)

    # --- controls -----------------------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            if self._status == "running":
                self._handle.control.pause()
                self._status = "paused"

    def resume(self, overrides: dict | None = None) -> None:
        """Continue a paused run, optionally with changed settings (lr, epochs, ...).

        Raises trainers.config.ConfigError naming any setting that cannot change mid-run, or
        epochs beyond what the server allows for this dataset.
        """
        if overrides:
            apply_overrides(self.spec.config, overrides)  # refuse bad changes here, not in the worker
            epochs = overrides.get("epochs")
            if self._max_epochs is not None and epochs is not None and epochs > self._max_epochs:
                raise ConfigError(f"epochs: this server allows at most {self._max_epochs} epochs of "
                                  f"this dataset per run (LAYERLOOM_MAX_SAMPLE_EPOCHS); got {epochs}")
        with self._lock:
            if self._status in ("running", "paused"):
                self._handle.control.resume(overrides)
                self._status = "running"
                self._epochs = int((overrides or {}).get("epochs", self._epochs))

    def stop(self) -> None:
        """Stop after the current batch (a queued job just leaves the queue)."""
        if self._manager._dequeue(self):
            self._finish("stopped", None)
            return
        with self._lock:
            self._stop_requested = True
            if self._handle is not None:
                self._handle.control.request_stop()

    # --- the manager's and the worker's side ------------------------------------------------
    def _start(self, worker) -> None:
        with self._lock:
            if self._stop_requested:  # stopped between leaving the queue and getting here
                start_error = None
            else:
                self._status = "running"
                try:
                    self._handle = worker.start(self.id, self.spec, self._on_event, self._on_exit)
                    return
                except Exception as exc:  # noqa: BLE001 - e.g. the server began shutting down
                    start_error = f"The run could not start: {exc}"
        self._on_exit(start_error)

    def _on_event(self, event: dict) -> None:
        self._history.apply(event)
        kind = event.get("kind")
        with self._lock:
            if kind == "step":
                self._step = int(event.get("step", self._step))
                self._samples_per_s = event.get("samples_per_s", self._samples_per_s)
                self._total_steps = event.get("total_steps", self._total_steps)
            elif kind == "epoch":
                self._epochs_done += 1
                if self._steps_per_epoch is None and self._step:
                    self._steps_per_epoch = self._step
            elif kind == "alert":
                self._alerts.append(dict(event))
            elif kind == "weights":
                self._weights = event["state"]
                self._weights_version += 1
            elif kind == "done":
                self._result = dict(event.get("result") or {})

    def _on_exit(self, error: str | None) -> None:
        with self._lock:
            failure = error or (self._result or {}).get("error")
            status = "failed" if failure else "stopped" if self._stop_requested else "finished"
        self._finish(status, failure)

    def _finish(self, status: str, error: str | None) -> None:
        with self._lock:
            if self.ended or self._finishing:
                return
            self._finishing = True  # the weights are written outside the lock: once
            self._status, self._error = status, error
            self._handle = None  # let the worker's thread or process objects go
            weights = self._weights
        on_disk = weights is not None and self._write_weights(weights)
        del weights  # the end is announced below: by then this frame must not hold the tensors
        with self._lock:
            if on_disk:
                self._weights, self._weights_on_disk = None, True
            self._ended.set()
        self._manager._job_ended(self)

    def _write_weights(self, weights: dict) -> bool:
        """Move the ended job's weights to its weights file; False (kept in memory) without one,
        or when the disk refuses: the last good weights are never lost."""
        if self._weights_file is None:
            return False
        try:
            safetensors.torch.save_file({name: tensor.contiguous() for name, tensor
                                         in weights.items()}, self._weights_file)
            return True
        except Exception:  # noqa: BLE001 - SafetensorError, OSError: the job must still end
            return False

    def _forget_weights(self) -> None:
        """The manager forgets this ended job: its weights file goes with it."""
        with self._lock:
            on_disk, self._weights_on_disk, self._weights = self._weights_on_disk, False, None
        if on_disk:
            self._weights_file.unlink(missing_ok=True)

    def _end_within(self, timeout: float) -> bool:
        """Wait for the end, killing a process worker that outstays `timeout`; True once the
        job has ended and its worker thread (or pump thread) is gone too."""
        handle = self._handle
        if handle is None:  # queued, or already over
            return self.wait(timeout)
        if not self.wait(timeout) and not handle.hard_stop():
            return False  # a thread that ignores stop cannot be killed
        return handle.join(5.0) and self.wait(0)
