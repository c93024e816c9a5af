"""A tiny app that mounts the canvas with the real builder, for tests/test_canvas_browser.py and
bench/bench_canvas.py. It prints what Python received (st.code blocks with stable test ids), so
browser tests can assert on the Python side.

Start graph: LAYERLOOM_CANVAS_GRAPH (a JSON file path), else a two-layer MLP.
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `streamlit run` puts only this dir on sys.path

import streamlit as st  # noqa: E402

from builder import apply_fix, catalog_json, validate  # noqa: E402
from ui.canvas import graph_canvas, pending_edit  # noqa: E402

START = {"version": 1, "name": "harness",
         "nodes": [{"id": "x", "type": "Input", "params": {"shape": [16]}},
                   {"id": "fc1", "type": "Linear", "params": {"out_features": 32}},
                   {"id": "act", "type": "ReLU", "params": {}}],
         "edges": [{"source": "x", "target": "fc1"}, {"source": "fc1", "target": "act"}],
         "layout": {"x": {"x": 0, "y": 0}, "fc1": {"x": 300, "y": 0}, "act": {"x": 600, "y": 0}}}


def start_over():
    """Load the start graph as a new revision (tests reuse one page; this also tests revisions)."""
    path = os.environ.get("LAYERLOOM_CANVAS_GRAPH")
    state.graph = json.loads(Path(path).read_text()) if path else START
    state.revision = state.get("revision", -1) + 1


st.set_page_config(page_title="canvas harness", layout="wide")
state = st.session_state
if "graph" not in state:
    start_over()
st.button("Start over", on_click=start_over)
state.runs = state.get("runs", 0) + 1

edited = pending_edit(revision=state.revision)
if edited is not None:
    state.graph = edited
checked = validate(state.graph)
report = checked.to_json()
result = graph_canvas(state.graph, catalog=catalog_json(), report=report, revision=state.revision)
if result.action and result.action.get("kind") == "apply_fix":
    state.graph = apply_fix(state.graph, checked.problems[result.action["index"]].fix).to_dict()
    state.revision += 1
    st.rerun()

st.code(json.dumps(state.graph, sort_keys=True), language=None)
st.code(json.dumps({"selected": result.selected, "action": result.action, "runs": state.runs,
                    "revision": state.revision, "valid": report["valid"]}), language="json")
