"""Where a job's `train_run` executes: a thread in the server, or a process from a warm pool.

Both flavours have one method, `start(name, spec, emit, on_exit) -> handle`: `emit(event)` gets
every event dict of the run, `on_exit(error)` is called exactly once when the run is over
(`error` is None, or a message for the user). The handle offers `control` (a RunControl),
`hard_stop()` and `join(timeout)`.

Thread vs process (figures from bench/bench_workers.py on the 2-core box, see bench/README.md):
- A process costs one spawn plus `import torch` (1.7-2.5 s cold), so the pool keeps `size`
  processes warmed up ahead of time; a warm start is then about as fast as a thread.
- torch's thread count is process-global: thread workers share one setting and one GIL, while
  each process job gets its own `threads_per_job`.
- Only a process can be hard-stopped when cooperative stop does not come, can be memory-capped
  (RLIMIT_AS), and can crash (segfault, os._exit, MemoryError) without taking the server down.
  Hence `auto` picks processes wherever they can run (see `choose_worker`).
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable

from trainers.control import RunControl

RunFn = Callable | str  # a callable (thread worker) or "module:function" (either worker)
MB = 1024 * 1024


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
    """The worker flavour `auto` uses for a run on `device`.

    Processes everywhere. On CPU torch's thread count is process-global, a hung or runaway run
    can only be killed and memory-capped in a process, and a warm pool makes its start as quick
    as a thread's (bench/bench_workers.py). On CUDA a device-side error (an out-of-range class
    id, say) poisons the whole CUDA context of its process, which would take every other run
    and the Inspect page with it under thread workers; a process per run confines it.
    """
    return "process"


def describe_failure(exc: BaseException, memory_mb: int | None = None) -> str:
    """The message a user sees when their run raised."""
    text = str(exc)
    out_of_memory = isinstance(exc, MemoryError) or "can't allocate memory" in text.lower()
    if out_of_memory:
        cap = f" (this server caps a run at {memory_mb} MB)" if memory_mb else ""
        return f"The run ran out of memory{cap}. Try a smaller batch size or model."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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


# --- process worker ---------------------------------------------------------------------------
class _Slot:
    """One spawned process waiting for (or running) one job, with its private channels."""

    def __init__(self, ctx, run_fn: str, threads: int, memory_mb: int):
        self.control = RunControl.for_process(ctx)
        self.events, child_events = ctx.Pipe(duplex=False)
        child_tasks, self.tasks = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_child_main, name="layerloom-worker", daemon=True,
            args=(run_fn, self.control, child_tasks, child_events, threads, memory_mb))
        self.process.start()
        # Close our copies of the child's ends: a dead child then reads as EOF, never a hang.
        child_events.close()
        child_tasks.close()
        self.ready = False

    def poll_ready(self, timeout: float) -> bool:
        try:
            if not self.ready and self.events.poll(timeout):
                self.ready = self.events.recv().get("kind") == "_ready"
        except (EOFError, OSError):  # died while warming up; start() will replace it
            pass
        return self.ready

    def discard(self) -> None:
        self.process.kill()
        self.process.join()
        self.events.close()
        self.tasks.close()


class ProcessHandle:
    def __init__(self, slot: _Slot, emit, on_exit, memory_mb: int, stop_grace_s: float):
        self.control = slot.control
        self._slot, self._emit, self._on_exit = slot, emit, on_exit
        self._memory_mb, self._grace = memory_mb, stop_grace_s
        self._killed = False
        self._pump = threading.Thread(target=self._run_pump, name="layerloom-pump", daemon=True)
        self._pump.start()

    def hard_stop(self) -> bool:
        self._killed = True
        self._slot.process.kill()
        return True

    def join(self, timeout: float | None = None) -> bool:
        self._pump.join(timeout)
        return not self._pump.is_alive()

    def _run_pump(self) -> None:
        """Forward the child's events until its pipe closes; then report how it ended."""
        error, stop_seen_at = None, None
        while True:
            if self.control.stop_requested and not self._killed:
                stop_seen_at = stop_seen_at or time.monotonic()
                if time.monotonic() - stop_seen_at > self._grace:
                    self.hard_stop()  # cooperative stop did not come in time
            if not self._slot.events.poll(0.1):
                continue
            try:
                event = self._slot.events.recv()
            except (EOFError, OSError):
                break
            if event["kind"] == "_failed":
                error = event["error"]
            elif event["kind"] != "_ready":
                self._emit(_from_wire(event))
        self._slot.process.join()
        self._slot.events.close()
        self._slot.tasks.close()
        code = self._slot.process.exitcode
        if error is None and code != 0 and not self._killed:
            error = describe_exit(code)
        self._on_exit(error)


class ProcessPool:
    """Processes spawned and warmed (torch and the run function imported) ahead of their jobs.

    Every job gets a fresh process that exits when the job ends, so its memory goes back to
    the system; the pool spawns a replacement at once so the next job starts warm.
    """
    kind = "process"

    def __init__(self, run_fn: RunFn, size: int, threads_per_job: int, memory_mb: int,
                 stop_grace_s: float = 3.0):
        self._ctx = multiprocessing.get_context("spawn")
        self._run_fn = run_fn_reference(run_fn)
        self._threads, self._memory_mb, self._grace = threads_per_job, memory_mb, stop_grace_s
        self._lock = threading.Lock()
        self._idle = deque(self._spawn() for _ in range(size))
        self._closed = False

    def _spawn(self) -> _Slot:
        return _Slot(self._ctx, self._run_fn, self._threads, self._memory_mb)

    def wait_warm(self, timeout: float) -> bool:
        """Block until every idle process has finished importing (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            slots = list(self._idle)
        return all(s.poll_ready(max(0.0, deadline - time.monotonic())) for s in slots)

    def start(self, name: str, spec, emit, on_exit) -> ProcessHandle:
        with self._lock:
            if self._closed:
                raise RuntimeError("the process pool is closed")
            slot = self._take_live_slot()
            self._idle.append(self._spawn())
        slot.tasks.send(spec)
        return ProcessHandle(slot, emit, on_exit, self._memory_mb, self._grace)

    def _take_live_slot(self) -> _Slot:
        while self._idle:
            slot = self._idle.popleft()
            if slot.process.is_alive():
                return slot
            slot.discard()
        return self._spawn()  # cold start: the pool was emptied faster than it refilled

    def close(self) -> None:
        with self._lock:
            self._closed = True
            slots, self._idle = list(self._idle), deque()
        for slot in slots:
            slot.discard()


# --- inside the worker process ----------------------------------------------------------------
def _child_main(run_fn: str, control: RunControl, tasks, events, threads: int, memory_mb: int):
    import torch  # the slow part of a cold start, done before any job arrives
    torch.set_num_threads(threads)
    fn = resolve_run_fn(run_fn)
    events.send({"kind": "_ready"})
    while not tasks.poll(1.0):
        if control.orphaned():
            return
    try:
        spec = tasks.recv()
    except EOFError:  # the pool closed before giving us a job
        return
    _cap_memory(memory_mb, spec)
    try:
        fn(spec, control, lambda event: events.send(_to_wire(event)))
    except BaseException as exc:  # noqa: BLE001 - reported to the owner as the job's error
        events.send({"kind": "_failed", "error": describe_failure(exc, memory_mb)})
    events.close()


def _cap_memory(memory_mb: int, spec) -> None:
    """Let this process grow by at most `memory_mb` beyond its warm size (MemoryError past it).

    Skipped for CUDA runs: the CUDA driver maps huge virtual ranges, so an address-space cap
    would break it; the device reports its own out-of-memory errors.
    """
    import torch
    try:
        import resource
    except ImportError:  # not on POSIX
        return
    if not device_of(spec).startswith("cpu") and torch.cuda.is_available():
        return
    try:
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # no /proc (macOS): no cap rather than a wrong one
        return
    limit = current + memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def _to_wire(event: dict) -> dict:
    """No tensor crosses the pipe as a tensor: torch pickles tensors as shared-memory handles
    that die with this process. Weights go as safetensors bytes, other tensors as numpy."""
    import torch
    if event.get("kind") == "weights":
        from safetensors.torch import save
        state = {k: v.detach().cpu().contiguous() for k, v in event["state"].items()}
        return {**event, "state": save(state)}
    return {k: v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v
            for k, v in event.items()}


def _from_wire(event: dict) -> dict:
    if event.get("kind") == "weights" and isinstance(event["state"], bytes):
        from safetensors.torch import load
        return {**event, "state": load(event["state"])}
    return event
