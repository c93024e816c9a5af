"""Widget values that survive a visit to another page.

Streamlit forgets a keyed widget's value as soon as a run does not draw that widget, so every
trip to Build or Inspect would reset the Train page's dataset and settings. Widgets whose key
goes through `kept(key)` get their value back when the page is drawn again; `keep_values()`,
called once at the end of the page, stores the values of this run.

Selectors of runs follow the newest run unless the person picked one: `following(key, ...)`.
"""
from collections.abc import Callable

import streamlit as st

_VALUES = "layerloom.kept_widget_values"
_KEYS = "layerloom.kept_widget_keys"


def kept(key: str) -> str:
    """`key`, after putting back the value Streamlit dropped while another page was shown."""
    values = st.session_state.setdefault(_VALUES, {})
    if key not in st.session_state and key in values:
        st.session_state[key] = values[key]
    st.session_state.setdefault(_KEYS, set()).add(key)
    return key


def keep_values() -> None:
    """Remember the current value of every widget drawn with a `kept` key."""
    values = st.session_state.setdefault(_VALUES, {})
    for key in st.session_state.get(_KEYS, ()):
        if key in st.session_state:
            values[key] = st.session_state[key]


_FOLLOWED = "layerloom.followed_defaults"


def following(key: str, default, options) -> str:
    """`key`, for a selector whose default moves on (the newest run): the widget shows `default`
    unless the person picked something else since the last default; a pick no longer among
    `options` (a dropped run) falls back to it too. Draw the widget without index or default."""
    followed = st.session_state.setdefault(_FOLLOWED, {})
    current = st.session_state.get(key)
    picks = current if isinstance(current, list) else [current]
    if current is None or current == followed.get(key) or any(p not in options for p in picks):
        st.session_state[key] = default
    followed[key] = default
    return key


def kept_keys(which: Callable[[str], bool]) -> list[str]:
    """The keys of kept widgets that `which` accepts."""
    return [key for key in st.session_state.get(_KEYS, ()) if which(key)]


def forget(which: Callable[[str], bool]) -> None:
    """Drop the current and remembered value of every kept widget whose key `which` accepts, so
    it is drawn again with its default (e.g. the Train page after loading a template)."""
    values = st.session_state.setdefault(_VALUES, {})
    for key in kept_keys(which):
        values.pop(key, None)
        if key in st.session_state:
            del st.session_state[key]
