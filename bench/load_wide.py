"""Wide-model students (issue #12): each opens a lesson link to the widest model the limits
accept on 2-D data, trains it and then makes the server evaluate it on every page.

The model: Moons -> Linear(2->50,000) -> ReLU -> Linear(50,000->100) -> ReLU -> Linear(100->2):
5.15 M parameters (the limit is 10 M), 400 KB of activations per sample (a training batch of 64
needs 51 MB of the 512 MB allowed) and 10 MFLOP per sample, so the live decision boundary's
3,600 grid points alone are 37 GFLOP and 1.4 GB of activations if run in one go.

Each tour of the pages: the Train page's live panel (the decision boundary), every Inspect tab
(prediction, saliency, activation statistics, mistakes, decision boundary: those the page
offers; before the run's first weights it offers none) and Build's Export tab
(ONNX and .pt2 files built on the server, the .py download). A wide student tours until its run
has ended and it has made at least `TOURS` tours, so every page sees the final weights too.
"""
from __future__ import annotations

import time

from bench.load_agent import AgentSession, page_text, run_status
from bench.load_report import SessionResult
from ui.share import encode_graph

WIDE = "wide"  # the template name a wide student's results carry
TOURS = 2
EXPORTS = ("onnx", "pt2")


def wide_graph(width: int = 50_000, middle: int = 100) -> dict:
    layers = [("x", "Input", {"shape": [2]}), ("wide", "Linear", {"out_features": width}),
              ("act1", "ReLU", {}), ("middle", "Linear", {"out_features": middle}),
              ("act2", "ReLU", {}), ("out", "Linear", {"out_features": 2})]
    nodes = [{"id": node_id, "type": kind, "params": params} for node_id, kind, params in layers]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {"name": "wide moons", "nodes": nodes, "edges": edges}


def lesson_link(epochs: int) -> dict[str, list[str]]:
    """The query string of a teacher's link: the wide graph, Moons, a short run."""
    return {"graph": [encode_graph(wide_graph())], "dataset": ["moons"],
            "epochs": [str(epochs)], "batch_size": ["64"]}


def simulate_wide_student(url: str, result: SessionResult, epochs: int, deadline: float) -> None:
    session = AgentSession(url, result)
    try:
        session.act("wide: open link", query_params=lesson_link(epochs))
        session.act("wide: go to Train", page="train")
        session.act("wide: start run", trigger={"key": "train.start"})
        result.run_status = "unfinished"
        tours = 0
        while time.monotonic() < deadline:
            status = run_status(page_text(session.snapshot))
            if status is not None:
                result.run_status = status
                if tours >= TOURS:
                    return
            tour_every_page(session)
            tours += 1
            time.sleep(1.0)
    except Exception as error:  # as for every student: a figure of the test, not its end
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0]}"


def tour_every_page(session: AgentSession) -> None:
    """Inspect's tabs, Build's exports, then back to Train's live panel (the boundary)."""
    inspect = session.act("wide: go to Inspect", page="inspect")
    for label in tab_labels(inspect, "inspect.view"):
        session.act("wide: Inspect tab", widget_state={"inspect.view": label})
        refusal = _refusal(page_text(session.snapshot))
        if refusal:
            session.result.notes.append(f"{label}: {refusal}")
    session.act("wide: go to Build", page="")
    session.act("wide: open Export", widget_state={"build.tab": "Export"})  # drawn when open
    for fmt in EXPORTS:
        if any(action["key"] == f"build.export.{fmt}" for action in session.snapshot["actions"]):
            session.act(f"wide: build {fmt}", trigger={"key": f"build.export.{fmt}"})
    session.act("wide: back to Train", page="train")


def tab_labels(snapshot: dict, key: str) -> list[str]:
    """The labels of the keyed tabs on the page; [] where there are none."""
    def find(node):
        if isinstance(node, dict):
            if node.get("key") == key:
                return node.get("props", {}).get("tabs", [])
            node = node.get("children", [])
        return next((found for child in node if (found := find(child)) is not None), None)

    return find(snapshot.get("tree", {})) or []


def _refusal(text: str) -> str | None:
    """The budget's answer when the page refused an evaluation, else None."""
    return next((line for line in text.splitlines()
                 if "the server evaluates within" in line or "server is busy" in line), None)
