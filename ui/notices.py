"""Short-lived messages for the person, set by a callback or a page step.

A message stays on the page for a few seconds of reruns rather than exactly one: replacing the
graph remounts the canvas, whose first report triggers another rerun straight away, and a
one-run message would vanish before anyone could read it.
A success ("Loaded the template …") is a toast instead, shown once: on a 720-pixel projector a
box above the canvas took the height the graph needs.
Messages are plain text (they often quote node ids or file contents), so they are escaped before
Streamlit renders them as Markdown.
"""
import time
from typing import Literal

import streamlit as st

from ui.text import escape_markdown

Kind = Literal["success", "info", "warning", "error"]
NOTICE_SECONDS = 8.0
_NOTICES = "layerloom.notices"
_SHOW = {"info": st.info, "warning": st.warning, "error": st.error}
TOAST_SECONDS = 10


def notify(kind: Kind, message: str, seconds: float = NOTICE_SECONDS) -> None:
    """Show `message` at the top of the page for the next `seconds`."""
    st.session_state.setdefault(_NOTICES, []).append((time.monotonic() + seconds, kind, message))


def show_notices() -> None:
    """Show every message still within its time; forget the older ones.

    The messages sit in one keyed container, so what follows keeps its place on the page whether
    there are messages or not (a shifted element is redrawn: an open tab would fall back to the
    first).
    """
    now = time.monotonic()
    fresh = [notice for notice in st.session_state.get(_NOTICES, []) if now < notice[0]]
    st.session_state[_NOTICES] = [notice for notice in fresh if notice[1] != "success"]
    with st.container(key="notices"):
        for _, kind, message in fresh:
            if kind == "success":
                st.toast(escape_markdown(message), icon=":material/check_circle:",
                         duration=TOAST_SECONDS)
            else:
                _SHOW[kind](escape_markdown(message))
