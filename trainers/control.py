"""RunControl: how a job's owner steers a running `train_run` (stop, pause, resume with changes).

The training loop calls `should_stop()` and `checkpoint_pause()` once per batch, so both must
cost next to nothing while nothing is happening. The state is therefore a few integer cells,
each written by exactly one side (the owner writes, the worker reads), read without a lock:
plain attributes for a thread worker, `RawValue`s in shared memory for a process worker.
Changes given on resume travel over a queue, and the worker only looks at that queue when the
owner's "sent" counter is ahead of what it has taken.
"""
from __future__ import annotations

import os
import queue
import time

PAUSE_POLL_S = 0.05
ORPHAN_CHECK_S = 1.0


class _Cell:
    """A thread-local stand-in for `multiprocessing.RawValue`: one value, no lock needed."""

    def __init__(self, value: int = 0):
        self.value = value


class RunControl:
    """Both sides of the control channel; pass the same object (or its pickled copy) to the worker."""

    def __init__(self, cells: dict, changes, owner_pid: int | None = None):
        self._cells = cells
        self._changes = changes
        self._taken = 0
        self._owner_pid = owner_pid
        self._next_orphan_check = 0.0

    @classmethod
    def for_thread(cls) -> RunControl:
        return cls({name: _Cell() for name in ("stop", "pause", "sent")}, queue.SimpleQueue())

    @classmethod
    def for_process(cls, ctx) -> RunControl:
        """Cells in shared memory; the worker also stops by itself when the server is gone."""
        cells = {name: ctx.RawValue("i", 0) for name in ("stop", "pause", "sent")}
        return cls(cells, ctx.SimpleQueue(), owner_pid=os.getpid())

    # --- the owner's side -------------------------------------------------------------------
    def request_stop(self) -> None:
        self._cells["stop"].value = 1

    def pause(self) -> None:
        self._cells["pause"].value = 1

    def resume(self, overrides: dict | None = None) -> None:
        if overrides:
            self._changes.put(dict(overrides))
            self._cells["sent"].value += 1
        self._cells["pause"].value = 0

    @property
    def stop_requested(self) -> bool:
        return bool(self._cells["stop"].value)

    # --- the worker's side (the RunControl protocol of trainers.loop.train_run) -------------
    def should_stop(self) -> bool:
        return bool(self._cells["stop"].value) or self.orphaned()

    def checkpoint_pause(self) -> dict | None:
        """Block while paused (a stop ends the wait); return the changes given on resume."""
        while self._cells["pause"].value and not self.should_stop():
            time.sleep(PAUSE_POLL_S)
        return self._take_changes()

    def _take_changes(self) -> dict | None:
        merged = None
        while self._taken < self._cells["sent"].value:
            # Both queues put synchronously and the owner counts a change after putting it,
            # so this get() never waits.
            merged = {**(merged or {}), **self._changes.get()}
            self._taken += 1
        return merged

    def orphaned(self) -> bool:
        """A process worker whose server died stops instead of training on for nobody.

        Asked at most once a second: the system call costs several microseconds, and the loop
        asks every batch. (Not getppid(): a fork server's children have it as their parent.)"""
        if self._owner_pid is None or time.monotonic() < self._next_orphan_check:
            return False
        self._next_orphan_check = time.monotonic() + ORPHAN_CHECK_S
        try:
            os.kill(self._owner_pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:  # exists, under another user (the pid was reused)
            return True
        return False
