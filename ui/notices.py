"""One-shot messages for the person: set by a callback or a page step, shown once on the next run.

Messages are plain text (they often quote node ids or file contents), so they are escaped before
Streamlit renders them as Markdown.
"""
from typing import Literal

import streamlit as st

from ui.text import escape_markdown

Kind = Literal["success", "info", "warning", "error"]
_NOTICES = "layerloom.notices"
_SHOW = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}


def notify(kind: Kind, message: str) -> None:
    """Queue `message` to be shown at the top of the page on this run or the next."""
    st.session_state.setdefault(_NOTICES, []).append((kind, message))


def show_notices() -> None:
    """Show, then forget, every queued message."""
    for kind, message in st.session_state.pop(_NOTICES, []):
        _SHOW[kind](escape_markdown(message))
