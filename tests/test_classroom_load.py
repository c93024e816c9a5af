"""A small class on one server, end to end without browsers (bench/load_test.py's agent client).

Three students arrive together, each loads a different template, trains it and wanders between
pages while the runs queue for the two job slots. Every run must finish, in its own session, and
the server must answer everyone; the timing targets live in the benchmark, not here.
"""
from argparse import Namespace

from bench.load_agent import AgentSession, page_text, run_status
from bench.load_report import SessionResult
from bench.load_test import measure_class
from bench.load_wide import tab_labels, wide_graph
from builder import validate
from trainers.limits import MB, Limits


def test_three_students_at_once_all_finish_their_runs():
    report, output = measure_class("agent", Namespace(sessions=3, epochs=1, timeout=240,
                                                      stagger=0.2, warm_s=3.0, device=None))
    assert report["problems"] == [], "".join(output[-30:])
    assert report["runs_finished"] == 3
    kinds = report["per_kind"]
    assert kinds["start run"]["n"] == 3 and kinds["load template"]["n"] == 3


def test_the_run_status_is_read_off_the_live_panel_line():
    shown = "Data\n**Run 1 · adam lr 0\\.003** · finished in 3.2 s · test accuracy 0.79\nmore"
    assert run_status(shown) == "finished"
    assert run_status("Run 1 · adam lr 0.001 · training, epoch 1 of 2") is None
    assert run_status("Run 1 · sgd lr 0.1 · failed: loss is NaN") == "Run 1 · sgd lr 0.1 · failed: loss is NaN"
    assert run_status("no run yet") is None


def test_page_text_collects_every_string_prop_of_the_tree():
    tree = {"type": "main", "children": [
        {"type": "markdown", "props": {"body": "Run 1 · x"}},
        {"type": "container", "children": [{"type": "button", "props": {"label": "Stop",
                                                                         "width": 3}}]}]}
    assert page_text({"tree": tree}).splitlines() == ["Run 1 · x", "Stop"]


def test_the_wide_students_model_is_wide_but_accepted():
    report = validate(wide_graph())
    assert report.valid and Limits().check_run(report, dataset_size=700, epochs=5, batch_size=64) == []
    assert report.total_activation_bytes * 3_600 > 1_000 * MB  # the boundary's grid in one go


def test_tab_labels_are_read_off_the_keyed_tabs():
    tree = {"children": [{"type": "main", "children": [
        {"type": "tabs", "key": "inspect.view", "props": {"tabs": ["Prediction", "Mistakes"]}}]}]}
    assert tab_labels({"tree": tree}, "inspect.view") == ["Prediction", "Mistakes"]
    assert tab_labels({"tree": tree}, "build.tab") == []


def test_a_long_interaction_is_collected_not_counted_as_a_failure(monkeypatch):
    """The agent API answers a request still running after its wait as an error object."""
    answers = iter([{"error": {"code": "wait_timed_out"}, "session_id": "s"},
                    {"status": "ready", "tree": {}, "session_id": "s"}])
    session = AgentSession("http://x/", SessionResult(0, "wide"))
    monkeypatch.setattr(session, "_post", lambda body: next(answers))
    assert session.act("build onnx")["status"] == "ready"
    assert [name for name, _ in session.result.interactions] == ["build onnx"]
