"""The canvas on the Build page: the session's graph goes in, the person's edits come back.

What the browser sends is treated like any other outside input: an edited graph is adopted only if
the graph format accepts it, and a fix request only if it names a problem that still exists.
"""
import streamlit as st

from builder import GraphError, catalog_json, load_graph
from builder.make_block import CannotMakeBlock, make_block
from ui.build_actions import apply_fix_to_session
from ui.canvas import graph_canvas, pending_edit
from ui.graph_input import describe_problems
from ui.notices import notify
from ui.state import current_graph, current_report, graph_revision, set_graph

CANVAS_KEY = "build.canvas"
ANSWER_KEY = "build.canvas.answer"  # Python's reply to the canvas's last make_block request
CANVAS_HEIGHT = "fill"  # the canvas ends at the window's bottom edge: a graph fitted to it is all on screen


def take_canvas_edit() -> None:
    """Adopt the edit made in the browser before the page draws, so every panel shows it at once."""
    _adopt(pending_edit(revision=graph_revision(), key=CANVAS_KEY))


def canvas_editor() -> None:
    """The node editor: palette, canvas with shapes and problems on every node, details panel."""
    result = graph_canvas(current_graph(), catalog=catalog_json(),
                          report=current_report().to_json(), revision=graph_revision(),
                          key=CANVAS_KEY, height=CANVAS_HEIGHT,
                          inside=lambda use: current_report().inside_json(use),
                          answer=st.session_state.get(ANSWER_KEY))
    _adopt(result.graph)  # normally None: take_canvas_edit already took it
    if result.action and result.action.get("kind") == "apply_fix":
        _apply_fix_from_canvas(result.action)
    if result.action and result.action.get("kind") == "make_block":
        _make_block_for_canvas(result.action)


def _adopt(edited: dict | None) -> None:
    if edited is None:
        return
    answer = st.session_state.get(ANSWER_KEY) or {}
    if answer.get("block") in (edited.get("blocks") or {}):
        del st.session_state[ANSWER_KEY]  # the canvas took the new graph: stop sending it along
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


def _make_block_for_canvas(action: dict) -> None:
    """Turn the selected layers (of the model, or of the opened block `within`) into a block and
    send the new graph back to the canvas, which commits it as an edit of its own (so its Undo
    takes the block apart again); or say why not."""
    nodes, name, within = action.get("nodes"), action.get("name"), action.get("within")
    if action.get("revision") != graph_revision() or not isinstance(name, str) or \
            not isinstance(within, str | None) or \
            not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        return  # made on a graph Python has since replaced, or not from our canvas
    answer = {"request": action.get("request")}
    try:
        graph = make_block(current_graph(), nodes, name, within)
        level = graph.nodes if within is None else graph.blocks[within].nodes
        use = next(n.id for n in level if n.type == name)
        answer.update(graph=graph.to_dict(), use=use, block=name)
    except CannotMakeBlock as error:
        answer["error"] = str(error)
    except GraphError as error:
        answer["error"] = f"the graph cannot be read: {describe_problems(error)}"
    st.session_state[ANSWER_KEY] = answer
    st.rerun()  # the canvas was drawn before the answer; draw it again with it
