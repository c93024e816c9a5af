"""Process workers: each job runs in its own process, forked from a warm fork server.

Why a fork server rather than a pool of spawned processes (bench/bench_workers.py, 2-core box):
a spawned process pays `import torch` (1.6 s) plus torch's lazy imports on the first optimizer
(`torch._dynamo`, 1.8 s) before its first step (6.2 s in all on the busy box), and a pool that
re-spawns a replacement for every job burns those seconds of CPU next to the running jobs. The
fork server imports all of that once, at start-up, and a job's first step comes 27 ms after
submit (14 ms for a thread). Every job still gets a fresh process that exits when it ends, so
its memory goes back to the system.

A process can be killed when a cooperative stop does not come within `stop_grace_s`, is capped
in memory (RLIMIT_AS: a MemoryError inside the run rather than the server running out), sets its
own torch thread count, and can crash (segfault, os._exit) without taking the server down: the
pump thread that forwards its events reports the crash as the job's error.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import types
from contextlib import contextmanager
from importlib.machinery import ModuleSpec

from trainers.control import RunControl
from trainers.workers import (PumpedHandle, RunFn, describe_exit, describe_failure, device_of,
                              run_fn_reference)

MB = 1024 * 1024
# What a job's process would otherwise import before its first step (the slow part).
WARM_MODULES = ["torch", "torch.optim", "torch._dynamo", "safetensors.torch",
                "trainers.process_worker"]
_MAIN_SWAP = threading.Lock()


@contextmanager
def _without_parent_main():
    """Start a child without re-running the parent's `__main__` in it.

    multiprocessing re-runs the parent's main script in each child, so that functions defined
    there can be found. Ours live in importable modules, and under Streamlit the "main script"
    is the app itself (Streamlit installs it as sys.modules["__main__"] and never takes it back),
    which every job's process would otherwise execute, pages and all, before its job. A
    placeholder named "__main__" is one multiprocessing knows to skip.
    """
    placeholder = types.ModuleType("__main__")
    placeholder.__spec__ = ModuleSpec("__main__", None)
    with _MAIN_SWAP:
        saved = sys.modules["__main__"]
        placeholder.__file__ = getattr(saved, "__file__", None)  # for anyone else reading it now
        sys.modules["__main__"] = placeholder
        try:
            yield
        finally:
            if sys.modules["__main__"] is placeholder:  # unless Streamlit installed a new one
                sys.modules["__main__"] = saved


def start_warm_process(target, *args):
    """Start `target(*args)` in a fresh process from the warm fork server (torch imported), not
    re-running the app's main script in it; returns the started daemon Process."""
    process = _context(target.__module__ + ":" + target.__name__).Process(
        target=target, args=args, daemon=True)
    with _without_parent_main():
        process.start()
    return process


def _context(run_fn: str):
    """The fork server context with torch preloaded, or spawn where fork servers do not exist."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # Windows: every job starts cold
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(WARM_MODULES + [run_fn.partition(":")[0]])
    return ctx


# Training yields the CPU to the pages: with every core busy training, a student's click still
# runs at once (bench/README-load.md: p95 interaction with 20 students, nice 0 against 10).
JOB_NICENESS = 10


class ProcessHandle(PumpedHandle):
    def __init__(self, ctx, run_fn: str, spec, emit, on_exit, *, threads: int, memory_mb: int,
                 stop_grace_s: float):
        super().__init__(RunControl.for_process(ctx), stop_grace_s, "layerloom-pump")
        self._events, child_events = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=_child_main, name="layerloom-worker", daemon=True,
            args=(run_fn, spec, self.control, child_events, threads, memory_mb))
        with _without_parent_main():
            self._process.start()
        child_events.close()  # only the child writes: a dead child then reads as EOF, not a hang
        self._emit, self._on_exit = emit, on_exit
        self._pump.start()

    def _kill(self) -> None:
        self._process.kill()

    def _run_pump(self) -> None:
        """Forward the child's events until its pipe closes; then report how it ended."""
        try:
            error = self._forward_events()
        except Exception as exc:  # noqa: BLE001 - a bug of ours must still end the job
            self.hard_stop()
            error = f"LayerLoom lost track of this run ({type(exc).__name__}: {exc})."
        self._process.join()
        self._events.close()
        code = self._process.exitcode
        if error is None and code != 0 and not self._killed:
            error = describe_exit(code)
        self._on_exit(error)

    def _forward_events(self) -> str | None:
        """Pass events on (killing the child if a stop is not obeyed in time) until EOF; the
        error the child reported, if any."""
        error = None
        while True:
            self._enforce_stop_grace()
            if not self._events.poll(0.1):
                continue
            try:
                event = self._events.recv()
            except (EOFError, OSError):
                return error
            if event.get("kind") == "_failed":
                error = event["error"]
            else:
                self._emit(_from_wire(event))


class ProcessWorker:
    """Starts each job in a fresh process from the fork server, warmed up at construction."""
    kind = "process"

    def __init__(self, run_fn: RunFn, threads_per_job: int, memory_mb: int,
                 stop_grace_s: float = 3.0):
        self._run_fn = run_fn_reference(run_fn)
        self._ctx = _context(self._run_fn)
        self._options = {"threads": threads_per_job, "memory_mb": memory_mb,
                         "stop_grace_s": stop_grace_s}
        self._closed = False
        # Start the fork server (its imports take seconds) now, not when the first job comes.
        self._warm_up = threading.Thread(target=self._start_server, name="layerloom-warmup",
                                         daemon=True)
        self._warm_up.start()

    def _start_server(self) -> None:
        process = self._ctx.Process(target=_warm_child, args=(self._run_fn,), daemon=True)
        with _without_parent_main():
            process.start()
        process.join()

    def wait_warm(self, timeout: float) -> bool:
        """Block until the first process has been forked warm (tests and benchmarks)."""
        self._warm_up.join(timeout)
        return not self._warm_up.is_alive()

    def start(self, name: str, spec, emit, on_exit) -> ProcessHandle:
        if self._closed:
            raise RuntimeError("the server is shutting down")
        return ProcessHandle(self._ctx, self._run_fn, spec, emit, on_exit, **self._options)

    def close(self) -> None:
        """Refuse new jobs; running ones are ended by the manager before this is called."""
        self._closed = True
        self._warm_up.join()


# --- inside the worker process ----------------------------------------------------------------
def _warm_child(run_fn: str) -> None:
    __import__(run_fn.partition(":")[0])


def _child_main(run_fn: str, spec, control: RunControl, events, threads: int, memory_mb: int):
    import torch
    from trainers.workers import resolve_run_fn
    os.nice(JOB_NICENESS)
    torch.set_num_threads(threads)
    fn = resolve_run_fn(run_fn)
    _cap_memory(memory_mb, spec)
    try:
        fn(spec, control, lambda event: events.send(_to_wire(event)))
    except BaseException as exc:  # noqa: BLE001 - reported to the owner as the job's error
        events.send({"kind": "_failed", "error": describe_failure(exc, memory_mb)})
    finally:
        events.close()


def _cap_memory(memory_mb: int, spec) -> None:
    """Let a CPU run's process grow by at most `memory_mb` beyond its size now (MemoryError past it).

    Only CPU runs are capped, judged from the spec alone: asking torch whether CUDA is there
    would initialise the driver, and a CUDA run needs no cap (the driver maps huge virtual
    ranges, which an address-space cap would break; the device reports its own out-of-memory).
    A CPU run never touches CUDA afterwards either (trainers.devices).
    """
    if device_of(spec) == "cpu":
        cap_address_space(memory_mb)


def cap_address_space(memory_mb: int) -> None:
    """This process may grow by at most `memory_mb` beyond its size now (MemoryError past it)."""
    try:
        import resource
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError):  # not Linux: no cap rather than a wrong one
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
