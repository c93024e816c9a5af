"""Work survives a reload: the graph, the runs (running ones included) and the Train page's
choices come back when the person reloads the tab or opens the app again in the same browser.

Two memories, both keyed by the browser's token (ui/browser_memory.py):
- Within the session TTL (`server.disconnectedSessionTTL`, during which a closed tab's runs are
  kept alive, ui/runs.py): the server's own record of the browser's session, updated at the end
  of every run. A new session of that browser takes it over whole: graph, previous graph, the
  Train page's choices, and its runs, re-attached (`ui.runs.adopt_runs`). With the cookie the
  record is taken on the new session's very first run, before anything is drawn.
- Later (the runs have ended): the graph the browser saved in its localStorage.
A record is only taken from a session that is gone (never from another open tab of the same
browser), and never across browsers: the token is per browser and cannot be guessed.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.browser_memory import browser_report, cookie_token, keep_in_browser
from ui.graph_input import GraphInputError, parse_graph_json
from ui.notices import notify
from ui.runs import adopt_runs, owner_and_runs
from ui.state import adopt_graph, current_graph, is_untouched, previous_graph

_DONE = "layerloom.restore_done"  # this session has taken what its browser had (or found none)
_TOKEN = "layerloom.browser_token"
# Plain session values a record carries besides graph and runs (they refer to this session's
# owner files or choices): the Train page's choices, the uploaded table and own data (files in
# the owner's folder), the webcam photos and drawn points (in memory), the share link opened.
_FILE_KEYS = ("train.last_csv", "train.own_data.last_upload")
_CARRIED = ("layerloom.kept_widget_values", *_FILE_KEYS, "train.camera.photos",
            "train.points.list", "layerloom.opened_share_token")
RESTORED_NOTICE_S = 30.0  # a returning person may look at the page a while before reading it
_KEEP_UNCLAIMED_S = 600  # records of gone sessions are forgotten this long after they went


@dataclass
class _Record:
    """One session of a browser as its last complete run left it."""
    session_id: str
    graph: dict
    previous: dict | None
    owner: str | None
    runs: list
    carried: dict
    gone_since: float | None = None  # when a scan first found the session disconnected


class _Records:
    """The latest record of each session, by browser token (server-wide, thread-safe)."""

    def __init__(self, session_active: Callable[[str], bool]):
        self._session_active = session_active
        self._lock = threading.Lock()
        self._by_token: dict[str, dict[str, _Record]] = {}

    def update(self, token: str, record: _Record) -> None:
        with self._lock:
            self._forget_long_gone()
            self._by_token.setdefault(token, {})[record.session_id] = record

    def take(self, token: str, session_id: str) -> _Record | None:
        """The newest record of a gone session of this browser, removed (None if there is none)."""
        with self._lock:
            self._forget_long_gone()
            records = self._by_token.get(token, {})
            gone = [r for sid, r in records.items() if sid != session_id and r.gone_since]
            if not gone:
                return None
            newest = max(gone, key=lambda r: r.gone_since)
            del records[newest.session_id]
            return newest

    def _forget_long_gone(self) -> None:
        now = time.monotonic()
        for token, records in list(self._by_token.items()):
            for session_id, record in list(records.items()):
                if self._session_active(session_id):
                    record.gone_since = None
                elif record.gone_since is None:
                    record.gone_since = now
                elif now - record.gone_since > _KEEP_UNCLAIMED_S:
                    del records[session_id]
            if not records:
                del self._by_token[token]


@st.cache_resource(show_spinner=False)
def _records() -> _Records:
    return _Records(Runtime.instance().is_active_session)


def restore_session() -> None:
    """At the top of every run: once per session, take what this browser had before."""
    if st.session_state.get(_DONE):
        return
    report = browser_report()
    token = cookie_token() or (report.token if report else None)
    if token is None and report is None:
        return  # neither the cookie nor the browser's report yet: wait for the report
    st.session_state[_TOKEN] = token
    record = _records().take(token, _session_id()) if token else None
    if record is not None:
        st.session_state[_DONE] = True
        _restore_record(record)
    elif report is not None:  # nothing on the server: the graph this browser saved, if any
        st.session_state[_DONE] = True
        _restore_saved_graph(report.saved_graph)


def remember_session() -> None:
    """At the end of every full run: record the session for a reload, save the graph in the
    browser (only once this session has taken what the browser had)."""
    token, done = st.session_state.get(_TOKEN), st.session_state.get(_DONE)
    if token and done:
        owner, runs = owner_and_runs()
        _records().update(token, _Record(
            _session_id(), current_graph(), previous_graph(), owner, runs,
            {key: st.session_state[key] for key in _CARRIED if key in st.session_state}))
    keep_in_browser(json.dumps(current_graph(), separators=(",", ":")) if done else None)


def _restore_record(record: _Record) -> None:
    restored_graph = is_untouched() and record.graph != current_graph()
    if restored_graph:
        adopt_graph(record.graph, record.previous)
    # Taking the owner keeps its folder (uploads, photos, weights), even with no runs to adopt.
    files_kept = record.owner is not None and adopt_runs(record.owner, record.runs)
    carried, lost = carried_values(record.carried, files_kept)
    for key, value in carried.items():
        st.session_state.setdefault(key, value)
    runs = record.runs if files_kept else []
    parts = [f"your graph “{record.graph.get('name', 'graph')}”"] if restored_graph else []
    if files_kept and (data := uploaded_names(carried)):
        parts.append(f"your data ({', '.join(data)})")
    elif carried.get("train.camera.photos") or carried.get("train.points.list"):
        parts.append("your photos and points")
    if lost:
        notify("warning", f"{', '.join(lost)} ended with the session before the reload; upload "
                          "it again to train on it.", RESTORED_NOTICE_S)
    if runs:
        training = sum(run.job.status in ("queued", "running", "paused") for run in runs)
        parts.append(f"{len(runs)} run{'s' if len(runs) > 1 else ''}"
                     + (f" ({training} still training)" if training else ""))
    if parts:
        notify("info", f"Restored {' and '.join(parts)} from before the reload.",
               RESTORED_NOTICE_S)


def carried_values(carried: dict, files_kept: bool) -> tuple[dict, list[str]]:
    """The values a new session takes from a record, and the names of the uploads it cannot
    take because their folder ended with the old session's owner."""
    if files_kept:
        return dict(carried), []
    kept = {key: value for key, value in carried.items() if key not in _FILE_KEYS}
    return kept, uploaded_names(carried)


def uploaded_names(carried: dict) -> list[str]:
    """The names of the uploaded files among carried values (webcam photos and drawn points
    come back from memory and are saved again, so they are never lost with the folder)."""
    table = carried.get("train.last_csv")
    own = carried.get("train.own_data.last_upload") or {}
    made_on_page = ("images.camera", "points")
    return [name for name, _path in ([table] if table else [])
            + [value for kind, value in own.items() if kind not in made_on_page]]


def _restore_saved_graph(saved: str | None) -> None:
    if not saved or not is_untouched():
        return
    try:
        graph = parse_graph_json(saved, source="The graph saved in this browser")
    except GraphInputError as error:
        notify("warning", f"{error} You have the default graph instead.")
        return
    if graph != current_graph():
        adopt_graph(graph)
        notify("info", f"Restored your graph “{graph['name']}” as you left it in this browser.",
               RESTORED_NOTICE_S)


def _session_id() -> str:
    return get_script_run_ctx().session_id
