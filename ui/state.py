"""The session's graph: one plain dict in `st.session_state`, shared by every page.

The graph is stored as a dict (the file format), not a `Graph`, so that an edit the graph core
cannot even parse is still kept and shown with its problems: a bad edit never loses the graph.
`set_graph(..., replace=True)` is for Python replacing the graph (template, upload, share link,
fix); it bumps the revision that tells the canvas to drop its local copy, and remembers the graph
it replaced so the person can bring it back.
"""
import copy
import hashlib
import json

import streamlit as st

from builder import Graph, Report, validate
from builder.templates import load_template

DEFAULT_TEMPLATE = "mlp_digits"
_GRAPH = "layerloom.graph"
_REVISION = "layerloom.graph_revision"
_PREVIOUS = "layerloom.previous_graph"
_REPORT = "layerloom.report"  # (content digest, Report) of the latest graph validated


def current_graph() -> dict:
    """The session's graph (read-only: change it with set_graph); first visit: the default."""
    if _GRAPH not in st.session_state:
        st.session_state[_GRAPH] = load_template(DEFAULT_TEMPLATE).to_dict()
        st.session_state[_REVISION] = 0
    return st.session_state[_GRAPH]


def set_graph(graph: Graph | dict, replace: bool = True) -> None:
    """Make `graph` the session's graph.

    `replace=True`: Python replaced the graph, so the canvas must reload it (revision + 1) and the
    old one is kept for `restore_previous_graph`. `replace=False`: the canvas itself made the edit.
    """
    new_graph = graph.to_dict() if isinstance(graph, Graph) else copy.deepcopy(graph)
    old_graph = current_graph()
    if replace:
        st.session_state[_PREVIOUS] = old_graph
        st.session_state[_REVISION] = graph_revision() + 1
    st.session_state[_GRAPH] = new_graph


def is_untouched() -> bool:
    """Whether the session still has the default graph it started with (nothing opened or
    edited yet)."""
    return graph_revision() == 0 and current_graph() == load_template(DEFAULT_TEMPLATE).to_dict()


def adopt_graph(graph: dict, previous: dict | None = None) -> None:
    """Take over a graph kept from before a reload, as a replacement (the canvas reloads), with
    the graph it had replaced (if any) one click away again."""
    set_graph(graph, replace=True)
    if previous is not None:
        st.session_state[_PREVIOUS] = previous


def graph_revision() -> int:
    """How many times Python has replaced the graph this session."""
    current_graph()
    return st.session_state[_REVISION]


def previous_graph() -> dict | None:
    """The graph that the last replacement (template, upload, link, fix) pushed out, if any."""
    return st.session_state.get(_PREVIOUS)


def restore_previous_graph() -> None:
    """Swap the current graph with the one the last replacement pushed out."""
    previous = previous_graph()
    if previous is not None:
        set_graph(previous, replace=True)


def current_report() -> Report:
    """The validator's report on the current graph, computed once per graph content."""
    graph = current_graph()
    digest = _content_digest(graph)
    cached = st.session_state.get(_REPORT)
    if cached is None or cached[0] != digest:
        cached = (digest, validate(graph))
        st.session_state[_REPORT] = cached
    return cached[1]


def _content_digest(graph: dict) -> str:
    canonical = json.dumps(graph, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()
