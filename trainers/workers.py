"""Where a job's `train_run` executes: a thread in the server (here) or its own process
(trainers.process_worker), and the helpers both flavours share.

Both flavours have one method, `start(name, spec, emit, on_exit) -> handle`: `emit(event)` gets
every event dict of the run, `on_exit(error)` is called exactly once when the run is over
(`error` is None, or a message for the user). The handle offers `control` (a RunControl),
`hard_stop()` (True if it could kill the run) and `join(timeout)`.
"""
from __future__ import annotations

import importlib
import signal
import threading
import time
from collections.abc import Callable

from trainers.control import RunControl

RunFn = Callable | str  # a callable (thread worker) or "module:function" (either worker)


def resolve_run_fn(run_fn: RunFn) -> Callable:
    if callable(run_fn):
        return run_fn
    module, _, name = run_fn.partition(":")
    return getattr(importlib.import_module(module), name)


def run_fn_reference(run_fn: RunFn) -> str:
    """The "module:function" name a spawned process can import."""
    if isinstance(run_fn, str):
        return run_fn
    if "<" in run_fn.__qualname__:
        raise ValueError(f"{run_fn!r} is not importable by name; process workers need a "
                         "module-level function or a 'module:function' string")
    return f"{run_fn.__module__}:{run_fn.__qualname__}"


def device_of(spec) -> str:
    return str(getattr(getattr(spec, "config", None), "device", "cpu"))


def choose_worker(device: str) -> str:
    """The worker flavour `auto` uses for a run on `device`: a process, on every device.

    Measured by bench/bench_workers.py on the shared 2-core box (load average 5, so +-20%):
    start latency 14 ms for a thread, 27 ms for a process forked from the warm fork server
    (6.2 s for a cold spawn); real runs with 1 torch thread per job, process/thread throughput
    0.91 and 0.77 (digits MLP, 1 and 2 jobs) and 1.05 and 0.96 (shapes CNN) — within the noise.
    What decides it is what only a process gives: its own torch thread count, a hard stop, a
    memory cap, and a crash that ends one run instead of the server. On CUDA (not measured: no
    GPU here) a device-side error (an out-of-range class id, say) poisons the CUDA context of
    its whole process, which under thread workers would take every run and the Inspect page
    with it; a process per run confines it.
    """
    return "process"


def describe_failure(exc: BaseException, memory_mb: int | None = None) -> str:
    """The message a user sees when their run raised.

    Our own errors (GraphError, DatasetError, TrainingError...) are written for users already;
    anything else (torch's RuntimeErrors) keeps its type name as a clue.
    """
    text = str(exc)
    if is_out_of_memory(exc):
        cap = f" (this server caps a run at {memory_mb} MB)" if memory_mb else ""
        return f"The run ran out of memory{cap}. Try a smaller batch size or model."
    ours = type(exc).__module__.partition(".")[0] in ("builder", "trainers")
    if ours and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_out_of_memory(exc: BaseException) -> bool:
    """A MemoryError, or torch's RuntimeError for an allocation the memory cap refused."""
    return isinstance(exc, MemoryError) or "can't allocate memory" in str(exc).lower()


def describe_exit(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"signal {-exitcode}"
        if exitcode == -signal.SIGKILL:
            how += ", often the system running out of memory"
    else:
        how = f"exit code {exitcode}"
    return (f"The training process ended unexpectedly ({how}). Other runs are not affected; "
            "try a smaller model or batch size.")


# --- a run in another process ------------------------------------------------------------------
class PumpedHandle:
    """A run in another process (a process worker's child, a Ray actor) whose events a pump
    thread forwards: `_run_pump` (the subclass's) ends by calling on_exit once. A stop that is
    not obeyed within `stop_grace_s` becomes a hard stop (`_kill`, the subclass's)."""

    def __init__(self, control, stop_grace_s: float, pump_name: str):
        self.control, self._grace = control, stop_grace_s
        self._killed, self._stop_seen_at = False, None
        self._pump = threading.Thread(target=self._run_pump, name=pump_name, daemon=True)

    def hard_stop(self) -> bool:
        self._killed = True
        self._kill()
        return True

    def join(self, timeout: float | None = None) -> bool:
        self._pump.join(timeout)
        return not self._pump.is_alive()

    def _enforce_stop_grace(self) -> None:
        """Called by the pump between events: kill the run once its stop is overdue."""
        if self.control.stop_requested and not self._killed:
            self._stop_seen_at = self._stop_seen_at or time.monotonic()
            if time.monotonic() - self._stop_seen_at > self._grace:
                self.hard_stop()

    def _run_pump(self) -> None:
        raise NotImplementedError

    def _kill(self) -> None:
        raise NotImplementedError


# --- thread worker ----------------------------------------------------------------------------
class ThreadHandle:
    def __init__(self, thread: threading.Thread, control: RunControl):
        self.thread, self.control = thread, control

    def hard_stop(self) -> bool:
        return False  # a Python thread cannot be killed; only cooperative stop applies

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()


class ThreadWorker:
    kind = "thread"

    def __init__(self, run_fn: RunFn, threads_per_job: int):
        self._run_fn = resolve_run_fn(run_fn)
        self._threads = threads_per_job

    def start(self, name: str, spec, emit, on_exit) -> ThreadHandle:
        import torch
        torch.set_num_threads(self._threads)  # process-wide: all thread jobs share it
        control = RunControl.for_thread()

        def body():
            error = None
            try:
                self._run_fn(spec, control, emit)
            except BaseException as exc:  # noqa: BLE001 - the job reports it; the server lives on
                error = describe_failure(exc)
            on_exit(error)

        thread = threading.Thread(target=body, name=f"layerloom-{name}", daemon=True)
        thread.start()
        return ThreadHandle(thread, control)

    def close(self) -> None:
        """Nothing to release: each job's thread ends with its job."""
