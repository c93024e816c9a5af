"""A browser session's identity on the server: its owner id, its folder on disk, and when its
runs and files end. Also the server-wide limits and job manager every session shares.

- `owner()`: a random id for this session's jobs, kept in session state (survives reconnects).
- `session_folder()`, `save_session_file(data, suffix)`: the session's folder on the server's
  disk: uploads, a fork's starting weights, exports and ended runs' weights. Removed when the
  session's jobs end.
- `hold_lease()`: called on every page run that touches the session's runs.

Disconnect policy. Streamlit releases a session's `scope="session"` resources the moment its
websocket drops, but keeps `st.session_state` for `server.disconnectedSessionTTL` seconds (120 by
default) in case the browser reconnects. Ending jobs on that release would kill a class's runs on
every Wi-Fi blip, so the release only *schedules* the end of the session's jobs after that same
TTL; a reconnect within it reruns the page, which takes the lease again and cancels the end
(and a session found connected again when the TTL is up is simply checked again later).
A closed tab therefore frees its jobs, and the session's files, within the TTL; a blip costs
nothing. A reload (or the tab reopened) within the TTL is a new session of the same browser:
`adopt_owner` hands it the old session's owner id (its runs and files) and cancels their end
(ui/runs.py `adopt_runs`, ui/reattach.py).
"""
from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from trainers.backends import make_job_manager
from trainers.job_book import JobBook
from trainers.limits import Limits

_OWNER = "layerloom.owner"
_SAVED = re.compile(r"[0-9a-f]{32}\.\w+")  # save_session_file's names: content digest + suffix


@st.cache_resource(show_spinner=False)
def limits() -> Limits:
    """The server's limits, read once from the environment (trainers.limits documents them)."""
    return Limits.from_env()


@st.cache_resource(show_spinner=False)
def job_manager() -> JobBook:
    """The one job manager of this server: every session's runs share its queue and limits
    (with LAYERLOOM_JOBS=ray, those of every replica: trainers.backends)."""
    return make_job_manager(limits())


def owner() -> str:
    """A random id for this session's jobs; kept in session state, so it survives reconnects."""
    return st.session_state.setdefault(_OWNER, uuid.uuid4().hex)


def current_owner() -> str | None:
    """This session's owner id, None before it needed one."""
    return st.session_state.get(_OWNER)


def adopt_owner(old_owner: str) -> bool:
    """Become `old_owner` (a reload's earlier session: its jobs and files), if its end is still
    pending; that end is cancelled. False, changing nothing, when it has ended already."""
    if not _pending_ends().cancel(old_owner):
        return False
    st.session_state[_OWNER] = old_owner
    hold_lease()
    return True


def session_folder() -> Path:
    """This session's folder on the server's disk (removed with the session's jobs)."""
    return _session_dir(owner())


class SessionFilesFull(RuntimeError):
    """Saving this file would take the session past `Limits.session_files_mb`; says so."""


def save_session_file(data: bytes, suffix: str) -> Path:
    """Keep `data` (an uploaded table, a fork's starting weights) where this session's runs can
    read it; named by content, so saving the same bytes twice keeps one file. The folder goes
    when the session's jobs are ended. Raises SessionFilesFull past the session's share of disk
    (which ended runs' weights and exports do not count: the runs kept bound the one, an edit
    deletes the other)."""
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    path = session_folder() / f"{digest}{suffix}"
    if not path.exists():
        kept = sum(f.stat().st_size for f in session_folder().iterdir() if _SAVED.fullmatch(f.name))
        refusal = limits().check_session_files(kept, len(data))
        if refusal:
            raise SessionFilesFull(refusal)
        path.write_bytes(data)
    return path


def hold_lease() -> None:
    """Keep this session's runs and files for as long as it is connected (and the TTL after)."""
    _lease(owner())


def _session_dir(owner_id: str) -> Path:
    folder = Path(tempfile.gettempdir()) / "layerloom-sessions" / owner_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class _PendingEnds:
    """Owners whose session went away, each with a timer that ends their jobs (and removes their
    folder) unless cancelled.

    When the timer fires while the session is connected again (it came back but has not yet
    rerun a page that takes the lease), the check is simply repeated one grace period later.
    """

    def __init__(self, manager: JobBook, session_active: Callable[[str], bool]):
        self._manager, self._session_active = manager, session_active
        self._lock = threading.Lock()
        self._timers: dict[str, threading.Timer] = {}

    def schedule(self, owner_id: str, session_id: str, delay_s: float) -> None:
        timer = threading.Timer(delay_s, lambda: self._fire(timer, owner_id, session_id, delay_s))
        timer.daemon = True
        with self._lock:
            self._cancel_locked(owner_id)
            self._timers[owner_id] = timer
        timer.start()

    def cancel(self, owner_id: str) -> bool:
        """Cancel the owner's pending end; True when one was pending (its jobs still exist)."""
        with self._lock:
            return self._cancel_locked(owner_id)

    def _cancel_locked(self, owner_id: str) -> bool:
        timer = self._timers.pop(owner_id, None)
        if timer is not None:
            timer.cancel()
        return timer is not None

    def _fire(self, timer: threading.Timer, owner_id: str, session_id: str, delay_s: float) -> None:
        if self._session_active(session_id):
            self.schedule(owner_id, session_id, delay_s)
            return
        with self._lock:  # a cancel that won the race (a reload adopting the runs) keeps them
            if self._timers.get(owner_id) is not timer:
                return
            del self._timers[owner_id]
        self._manager.end_owner(owner_id)
        shutil.rmtree(_session_dir(owner_id), ignore_errors=True)


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
def _lease(owner_id: str) -> _Lease:
    pending = _pending_ends()
    pending.cancel(owner_id)  # the session came back in time: its runs go on
    return _Lease(owner_id, get_script_run_ctx().session_id, pending,
                  float(st.get_option("server.disconnectedSessionTTL")))
