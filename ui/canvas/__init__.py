"""The drag-and-drop graph canvas: an `st.components.v2` component built on React Flow.

The frontend lives in `frontend/` (React source, lock file, `build.mjs`); the built bundle in
`dist/` is committed so users need no Node.js (tests/test_canvas_bundle.py checks it is what the
source builds to).

Shipping: Streamlit re-sends a component's whole element (its JS included) on every rerun whose
`data` changed, i.e. after every edit. So the 400 KB editor (`dist/runtime.js`) and the layer
catalog form a separate component whose element never changes: Streamlit's message cache sends it
once per session and a 74-byte reference afterwards. The canvas component itself carries a
300-byte loader (`dist/loader.js`) plus graph and report. Measured in bench/bench_canvas.py: ~22
KiB per edit instead of ~460 KiB with the bundle inline; a package `asset_dir` would also keep the
JS out of reruns but needs the app pip-installed with a pyproject manifest.

What travels between Python and the browser:

- Python -> browser (`data`): the graph, the layer catalog, the validation report, the revision.
- Browser -> Python, as component state (keep it; it survives reruns):
  `graph`: `{"revision": int, "edit": str, "graph": {...}}` after every committed edit (drag-stop,
  connect, delete, parameter blur/Enter, undo/redo, and the automatic top-to-bottom arrangement of
  a graph that arrives unreadable or overlapping) — never on mouse moves, since every value the
  browser sets costs a script rerun. `edit` is unique per edit, so the wrapper reports each one once.
  `selected`: the selected node id or None.
  `open`: the block use the canvas shows opened (its hierarchical id with a dot: "layer1." or
  "layer1.0." for its first copy), or None for the model itself; Python answers with `inside`,
  `{"use": open, "report": that use's report (Report.inside_json)}`, so the shapes inside a
  block come from Python too. A remount (new revision) does not reset it: the browser uses an
  `inside` only for the use it has open, and Python computes it from the current graph.
- Browser -> Python, as a one-shot trigger: `action`, e.g.
  `{"kind": "apply_fix", "node": "c1", "index": 2}` where `index` is the position of the problem in
  `report["problems"]`, or `{"kind": "make_block", "nodes": [ids], "name": str, "within": the
  opened block's name or None, "revision": int, "request": str}`; Python answers the latter through `answer` (data):
  `{"request", "graph", "use", "block"}` (the new graph, which the browser commits as an undoable
  edit and whose block node `use` it selects) or `{"request", "error"}`.

AppTest never runs the component's JavaScript; drive the Python side by putting that state into
`at.session_state[key]`, e.g. `{"graph": {"revision": 0, "edit": "t:1", "graph": {...}}}`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

_DIST = Path(__file__).parent / "dist"

_runtime = st.components.v2.component(
    "layerloom.graph_canvas_runtime", js=(_DIST / "runtime.js").read_text(encoding="utf-8"))
_canvas = st.components.v2.component(
    "layerloom.graph_canvas", js=(_DIST / "loader.js").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class CanvasResult:
    """What the user did since the last run.

    `graph` is the edited graph (graph JSON, docs/graph-format.md) when the user changed it, else
    None; `selected` the selected node id; `action` a one-shot request such as applying a fix.
    """

    graph: dict | None
    selected: str | None
    action: dict | None


def graph_canvas(graph: dict, *, catalog: list[dict], report: dict, revision: int,
                 key: str = "canvas", height: int | str = 640,
                 inside: Callable[[str], dict] | None = None,
                 answer: dict | None = None) -> CanvasResult:
    """Show the canvas for `graph` and return what the user changed.

    `height`: pixels, or "fill" for as tall as the window below the canvas (at least 420 px).

    Bump `revision` whenever Python replaces the graph (template, upload, one-click fix): the
    browser then drops its local copy and undo history and shows `graph`. With the same revision
    the browser keeps its own copy (it may be ahead of Python) and only takes the new `report`.

    `inside(prefix)` gives the report of the block use the person opened (see `open` above);
    `answer` is Python's reply to the last `make_block` action.
    """
    opened = _component_state(key).get("open")
    _runtime(key=f"{key}.runtime", data={"catalog": catalog}, height=0)
    result = _canvas(
        key=key,
        data={"graph": graph, "report": report, "revision": revision, "height": height,
              "selected": _component_state(key).get("selected"),
              "inside": {"use": opened, "report": inside(opened)}
              if inside and isinstance(opened, str) else None,
              "answer": answer},
        height=height if isinstance(height, int) else "content",
        on_graph_change=_no_callback,
        on_selected_change=_no_callback,
        on_action_change=_no_callback,
        on_open_change=_no_callback,
    )
    return CanvasResult(
        graph=_unseen_edit(result.get("graph"), revision, key),
        selected=result.get("selected"),
        action=result.get("action"),
    )


def pending_edit(*, revision: int, key: str = "canvas") -> dict | None:
    """The graph the user just edited, read before the canvas is drawn (else None).

    Call it at the top of the page, then validate the returned graph and pass it to
    `graph_canvas`: the new shapes and problems then reach the browser in the same run, instead
    of one run later. An edit returned here is not returned again by `graph_canvas`.
    """
    return _unseen_edit(_component_state(key).get("graph"), revision, key)


def _component_state(key: str) -> Mapping:
    """What the browser last sent (empty before its first message)."""
    state = st.session_state.get(key)
    return state if isinstance(state, Mapping) else {}


def _no_callback() -> None:
    """Streamlit only passes back state keys that have a change callback; we read the result."""


def _unseen_edit(edit: dict | None, revision: int, key: str) -> dict | None:
    """The edited graph, once per edit, and only if it was made on the current revision.

    An edit made before Python replaced the graph (an older revision) is stale and dropped.
    """
    if not isinstance(edit, dict) or edit.get("revision") != revision:
        return None
    seen_key = f"_layerloom_canvas_seen_edit:{key}"
    if st.session_state.get(seen_key) == edit.get("edit"):
        return None
    st.session_state[seen_key] = edit.get("edit")
    return edit.get("graph")
