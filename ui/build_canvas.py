"""The canvas on the Build page: the session's graph goes in, the person's edits come back.

What the browser sends is treated like any other outside input: an edited graph is adopted only if
the graph format accepts it, and a fix request only if it names a problem that still exists.
"""
import streamlit as st

from builder import GraphError, catalog_json, load_graph
from ui.build_actions import apply_fix_to_session
from ui.canvas import graph_canvas, pending_edit
from ui.graph_input import describe_problems
from ui.notices import notify
from ui.state import current_graph, current_report, graph_revision, set_graph

CANVAS_KEY = "build.canvas"
CANVAS_HEIGHT = "fill"  # the canvas ends at the window's bottom edge: a graph fitted to it is all on screen


def take_canvas_edit() -> None:
    """Adopt the edit made in the browser before the page draws, so every panel shows it at once."""
    _adopt(pending_edit(revision=graph_revision(), key=CANVAS_KEY))


def canvas_editor() -> None:
    """The node editor: palette, canvas with shapes and problems on every node, details panel."""
    result = graph_canvas(current_graph(), catalog=catalog_json(),
                          report=current_report().to_json(), revision=graph_revision(),
                          key=CANVAS_KEY, height=CANVAS_HEIGHT,
                          inside=lambda use: current_report().inside_json(use))
    _adopt(result.graph)  # normally None: take_canvas_edit already took it
    if result.action and result.action.get("kind") == "apply_fix":
        _apply_fix_from_canvas(result.action)


def _adopt(edited: dict | None) -> None:
    if edited is None:
        return
    try:
        set_graph(load_graph(edited), replace=False)
    except GraphError as error:  # only a tampered browser can send this; keep the last good graph
        notify("error", "The canvas sent a graph that cannot be read, so the last good graph is "
                        f"kept: {describe_problems(error)}")


def _apply_fix_from_canvas(action: dict) -> None:
    """Apply the fix of problem `index`, if it is still the problem on `node` the person saw."""
    problems = current_report().problems
    index = action.get("index")
    if not isinstance(index, int) or not 0 <= index < len(problems):
        return
    problem = problems[index]
    if problem.fix is None or problem.node != action.get("node"):
        return
    apply_fix_to_session(problem.fix)
    st.rerun()  # the canvas was drawn before the fix; draw it again with the repaired graph
