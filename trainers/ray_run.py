"""Runs inside Ray actors (the Ray back end's counterpart of a process worker's child).

`RunActor` is a plain class that trainers.ray_pool turns into Ray actors: one long-lived runner
per CPU slot of the cluster, placed by Ray on a machine with a free CPU, and one fresh actor
per GPU run. A runner imports torch (and the run function's module) once, when it starts, and
then trains the runs of its slot one after another, so a run starts in a warm process as a
local run forks from the warm fork server (trainers.process_worker). A runner that crashed, was
killed (a stop not obeyed in time) or ran out of memory is replaced, never reused.

Each run trains in a thread of its own, with the same worker protocol as the local workers
(`train_run(spec, control, emit)`), so the actor still answers `drain`, `pause`, `resume` and
`stop` (for that run's id) while it trains; Ray runs those calls one at a time, in the order
the app sent them. Events wait in the actor until the app drains them; weights travel as
safetensors bytes (process_worker's wire format), and only the newest undrained weights are
kept. A CPU run's memory is capped as a process worker's is (RLIMIT_AS: the actor may grow by
`memory_mb` during the run), and the cap is lifted again when the run ends.

A run may read files from its session's folder on the app's machine (an uploaded table, a
fork's starting weights); `ship_files` packs them with the spec and `unpack_files` writes them
where the actor runs, so a run works on a machine that never saw the upload.
"""
from __future__ import annotations

import importlib
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from trainers.config import RunSpec
from trainers.control import RunControl
from trainers.process_worker import JOB_NICENESS, _cap_memory, _to_wire
from trainers.workers import describe_failure, is_out_of_memory, resolve_run_fn


@dataclass
class _Run:
    run_id: str
    control: RunControl = field(default_factory=RunControl.for_thread)
    events: list[dict] = field(default_factory=list)
    ended: bool = False
    error: str | None = None
    reusable: bool = True  # whether the runner may take the next run after this one


class RunActor:
    def __init__(self, warm_modules: list[str]):
        os.nice(JOB_NICENESS)  # this process only trains: pages on its machine run ahead of it
        for module in warm_modules:
            importlib.import_module(module)
        self._lock = threading.Lock()
        self._run: _Run | None = None

    def pid(self) -> int:
        return os.getpid()

    def start(self, run_id: str, run_fn: str, spec: RunSpec, files: dict[str, bytes],
              threads: int, memory_mb: int) -> bool:
        """Start a run in a thread; False (and nothing started) while another run trains here."""
        with self._lock:
            if self._run is not None and not self._run.ended:
                return False
            self._run = run = _Run(run_id)
        threading.Thread(target=self._train, name="layerloom-run", daemon=True,
                         args=(run, run_fn, spec, files, threads, memory_mb)).start()
        return True

    def drain(self, run_id: str) -> dict:
        """The run's events since the last drain; `ended` (with `error`, and `reusable`: may
        this runner take another run) once it is over and every event has been drained."""
        with self._lock:
            run = self._run
            if run is None or run.run_id != run_id:  # not started here, or long over
                return {"events": [], "ended": True, "error": None, "reusable": True}
            events, run.events = run.events, []
            return {"events": events, "ended": run.ended, "error": run.error,
                    "reusable": run.reusable}

    def pause(self, run_id: str) -> None:
        if control := self._control(run_id):
            control.pause()

    def resume(self, run_id: str, overrides: dict | None = None) -> None:
        if control := self._control(run_id):
            control.resume(overrides)

    def stop(self, run_id: str) -> None:
        if control := self._control(run_id):
            control.request_stop()

    def _control(self, run_id: str) -> RunControl | None:
        with self._lock:
            run = self._run
        return run.control if run is not None and run.run_id == run_id else None

    def _train(self, run: _Run, run_fn: str, spec: RunSpec, files: dict[str, bytes],
               threads: int, memory_mb: int) -> None:
        import torch
        error, reusable = None, True
        try:
            torch.set_num_threads(threads)
            train = resolve_run_fn(run_fn)
            with tempfile.TemporaryDirectory(prefix="layerloom-run-") as folder:
                spec = unpack_files(spec, files, Path(folder))
                with _memory_capped(memory_mb, spec):
                    train(spec, run.control, lambda event: self._emit(run, event))
        except BaseException as exc:  # noqa: BLE001 - reported to the app as the run's error
            error = describe_failure(exc, memory_mb)
            reusable = not is_out_of_memory(exc)  # a fresh process rather than a fragmented one
        with self._lock:
            run.ended, run.error, run.reusable = True, error, reusable

    def _emit(self, run: _Run, event: dict) -> None:
        wire = _to_wire(event)
        with self._lock:
            if wire.get("kind") == "weights":  # an older snapshot nobody read yet is stale
                run.events = [e for e in run.events if e.get("kind") != "weights"]
            run.events.append(wire)


@contextmanager
def _memory_capped(memory_mb: int, spec: RunSpec):
    """A process worker's cap for the run (trainers.process_worker), lifted once it is over:
    the runner takes the next run with its memory limit as before."""
    try:
        import resource
    except ImportError:  # not Linux: no cap (as process_worker.cap_address_space)
        yield
        return
    uncapped = resource.getrlimit(resource.RLIMIT_AS)
    _cap_memory(memory_mb, spec)
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, uncapped)


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
