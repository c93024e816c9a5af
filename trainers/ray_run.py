"""One run inside a Ray actor (the Ray back end's counterpart of a process worker's child).

`RunActor` is a plain class that trainers.ray_jobs turns into a Ray actor, one per run, placed
by Ray on any machine of the cluster with a free CPU (or a share of a GPU). It runs the same
worker protocol as the local workers (`train_run(spec, control, emit)`) in a thread of its own,
so the actor still answers `drain`, `pause`, `resume` and `stop` while the run trains; Ray runs
those calls one at a time, in the order the app sent them. Events wait in the actor until the
app drains them; weights travel as safetensors bytes (process_worker's wire format), and only
the newest undrained weights are kept.

A run may read files from its session's folder on the app's machine (an uploaded table, a
fork's starting weights); `ship_files` packs them with the spec and `unpack_files` writes them
where the actor runs, so a run works on a machine that never saw the upload.
"""
from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from trainers.config import RunSpec
from trainers.control import RunControl
from trainers.process_worker import JOB_NICENESS, _cap_memory, _to_wire
from trainers.workers import describe_failure, resolve_run_fn


class RunActor:
    def __init__(self, run_fn: str, threads: int, memory_mb: int):
        self._run_fn, self._threads, self._memory_mb = run_fn, threads, memory_mb
        self._control = RunControl.for_thread()
        self._lock = threading.Lock()
        self._events: list[dict] = []
        self._ended, self._error = False, None

    def start(self, spec: RunSpec, files: dict[str, bytes]) -> None:
        threading.Thread(target=self._train, args=(spec, files), name="layerloom-run",
                         daemon=True).start()

    def drain(self) -> dict:
        """The events since the last drain; `ended` (and `error`) once the run is over and
        every one of its events has been drained."""
        with self._lock:
            events, self._events = self._events, []
            return {"events": events, "ended": self._ended, "error": self._error}

    def pause(self) -> None:
        self._control.pause()

    def resume(self, overrides: dict | None = None) -> None:
        self._control.resume(overrides)

    def stop(self) -> None:
        self._control.request_stop()

    def _train(self, spec: RunSpec, files: dict[str, bytes]) -> None:
        import torch
        error = None
        try:
            os.nice(JOB_NICENESS)  # pages on the same machine run ahead of training
            torch.set_num_threads(self._threads)
            run_fn = resolve_run_fn(self._run_fn)
            with tempfile.TemporaryDirectory(prefix="layerloom-run-") as folder:
                spec = unpack_files(spec, files, Path(folder))
                _cap_memory(self._memory_mb, spec)
                run_fn(spec, self._control, self._emit)
        except BaseException as exc:  # noqa: BLE001 - reported to the app as the run's error
            error = describe_failure(exc, self._memory_mb)
        with self._lock:
            self._ended, self._error = True, error

    def _emit(self, event: dict) -> None:
        wire = _to_wire(event)
        with self._lock:
            if wire.get("kind") == "weights":  # an older snapshot nobody read yet is stale
                self._events = [e for e in self._events if e.get("kind") != "weights"]
            self._events.append(wire)


def ship_files(spec: RunSpec) -> tuple[RunSpec, dict[str, bytes]]:
    """The spec with the files it names on this machine, read into memory (session files:
    bounded by the upload limits), keyed by a placeholder that `unpack_files` replaces."""
    files = {}
    options = dict(spec.dataset_options)
    if isinstance(options.get("path"), str) and Path(options["path"]).is_file():
        files["dataset"] = Path(options["path"]).read_bytes()
        options["path"] = "dataset" + Path(options["path"]).suffix
    init_state = spec.init_state
    if init_state and Path(init_state).is_file():
        files["init_state"] = Path(init_state).read_bytes()
        init_state = "init_state" + Path(init_state).suffix
    return spec.model_copy(update={"dataset_options": options, "init_state": init_state}), files


def unpack_files(spec: RunSpec, files: dict[str, bytes], folder: Path) -> RunSpec:
    """Write shipped files into `folder` and point the spec at them."""
    if not files:
        return spec
    options, init_state = dict(spec.dataset_options), spec.init_state
    if "dataset" in files:
        options["path"] = str(folder / options["path"])
        Path(options["path"]).write_bytes(files["dataset"])
    if "init_state" in files:
        init_state = str(folder / init_state)
        Path(init_state).write_bytes(files["init_state"])
    return spec.model_copy(update={"dataset_options": options, "init_state": init_state})
