"""What one browser remembers between visits: a random token naming the browser, and its latest
graph, kept by a tiny `st.components.v2` component in the browser's own storage.

A v2 component runs in the page itself (no iframe), so it reaches the app's localStorage and
cookies. On each page load it
- makes sure the browser has its token: 32 hex digits from `crypto.getRandomValues`, kept in
  localStorage and mirrored into the `layerloom_browser` cookie, which Streamlit hands the next
  session with its very first run (`st.context.cookies`), before anything is drawn;
- reports once, as component state, the token and the graph JSON this browser saved last;
- then saves the graph Python sends it (Python sends none until it has read the report, so a
  new session's default graph never overwrites the one a person left).

Everything the browser sends is untrusted: the token must match `TOKEN`, the saved graph goes
through `ui.graph_input` like an upload. A token names a browser profile, so two browsers (or a
private window) never share one; it cannot be guessed (128 random bits).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

COOKIE = "layerloom_browser"
TOKEN = re.compile(r"[0-9a-f]{32}")
_KEY = "layerloom.browser_memory"
_JS = """
const TOKEN_KEY = "layerloom.browser", GRAPH_KEY = "layerloom.graph";
const YEAR_S = 365 * 24 * 3600;

function read(key) {
  try { return window.localStorage.getItem(key); } catch (e) { return null; }
}

function write(key, value) {
  try { window.localStorage.setItem(key, value); } catch (e) { /* storage full or blocked */ }
}

function browserToken() {
  let token = read(TOKEN_KEY);
  if (!/^[0-9a-f]{32}$/.test(token || "")) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    write(TOKEN_KEY, token);
  }
  document.cookie = `layerloom_browser=${token}; path=/; max-age=${YEAR_S}; SameSite=Strict`;
  return token;
}

export default function ({ data, setStateValue }) {
  const page = (globalThis.__layerloomMemory ??= {});
  if (!page.reported) {  // once per page load: what this browser had before it
    page.reported = true;
    setStateValue("report", { token: browserToken(), graph: read(GRAPH_KEY) });
  }
  if (data && typeof data.graph === "string" && data.graph !== page.saved) {
    page.saved = data.graph;
    write(GRAPH_KEY, data.graph);
  }
}
"""
_memory = st.components.v2.component("layerloom.browser_memory", js=_JS)


@dataclass(frozen=True)
class BrowserReport:
    """What the browser said it had: its token (None if malformed) and its saved graph JSON."""
    token: str | None
    saved_graph: str | None


def cookie_token() -> str | None:
    """The browser's token from the cookie sent with this session's connection, if valid."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no client context (a bare script run): no cookie
        return None
    return value if isinstance(value, str) and TOKEN.fullmatch(value) else None


def browser_report() -> BrowserReport | None:
    """The browser's report, once its component has sent it (None before)."""
    state = st.session_state.get(_KEY)
    report = state.get("report") if isinstance(state, Mapping) else None
    if not isinstance(report, Mapping):
        return None
    token, graph = report.get("token"), report.get("graph")
    return BrowserReport(token if isinstance(token, str) and TOKEN.fullmatch(token) else None,
                         graph if isinstance(graph, str) else None)


def keep_in_browser(graph_json: str | None) -> None:
    """Draw the (invisible) component; it saves `graph_json` in the browser when not None."""
    _memory(key=_KEY, data={"graph": graph_json}, height=0, on_report_change=_no_callback)


def _no_callback() -> None:
    """Streamlit passes a state key back only when it has a change callback; we read it."""
