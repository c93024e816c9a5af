"""Work survives a reload (issue #13), the Python side: what a new session takes from its
browser's report and from the server's record of the browser's gone session.
(tests/test_reload_browser.py does the same in a real browser.)"""
import json
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.templates import load_template
from ui.reattach import _Record, _Records, carried_values
from ui.session_lease import _PendingEnds
from ui.state import DEFAULT_TEMPLATE

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TOKEN = "0123456789abcdef0123456789abcdef"
MEMORY = "layerloom.browser_memory"  # the browser memory component's key (its state)


def open_app(report: dict | None) -> AppTest:
    """A new session whose browser reported `report` (as the component's state would)."""
    app = AppTest.from_file(APP, default_timeout=60)
    if report is not None:
        app.session_state[MEMORY] = {"report": report}
    app.run()
    assert not app.exception, app.exception
    return app


def notices(app: AppTest) -> list[str]:
    return [element.value.replace("\\", "") for kind in ("info", "warning") for element in
            getattr(app, kind)]


def test_the_graph_this_browser_saved_comes_back_with_a_word():
    saved = load_template("mlp_playground").to_dict()
    app = open_app({"token": TOKEN, "graph": json.dumps(saved)})
    assert app.session_state["layerloom.graph"] == saved
    assert "Restored your graph “mlp_playground” as you left it in this browser." in notices(app)


def test_a_damaged_saved_graph_is_named_and_the_default_graph_stays():
    app = open_app({"token": TOKEN, "graph": '{"nodes": [{"id": 1}'})
    assert app.session_state["layerloom.graph"] == load_template(DEFAULT_TEMPLATE).to_dict()
    [warning] = [text for text in notices(app) if "saved in this browser" in text]
    assert "You have the default graph instead." in warning


def test_a_report_with_a_forged_token_still_restores_the_graph_but_files_nothing():
    saved = load_template("mlp_playground").to_dict()
    app = open_app({"token": "../../etc/passwd", "graph": json.dumps(saved)})
    assert app.session_state["layerloom.graph"] == saved
    assert app.session_state["layerloom.browser_token"] is None


def test_before_the_browser_reports_nothing_is_restored_or_saved():
    app = open_app(None)
    assert app.session_state["layerloom.graph"] == load_template(DEFAULT_TEMPLATE).to_dict()
    assert "layerloom.restore_done" not in app.session_state


def record(session_id: str, name: str) -> _Record:
    return _Record(session_id, {"name": name}, None, None, [], {})


def test_a_record_is_taken_only_from_a_gone_session_of_the_same_browser():
    active = {"open-tab"}
    records = _Records(session_active=active.__contains__)
    records.update(TOKEN, record("open-tab", "still open"))
    records.update(TOKEN, record("reloaded", "before the reload"))
    records.update("f" * 32, record("other-browser", "someone else's"))

    assert records.take("e" * 32, "new") is None  # a token with nothing filed under it
    taken = records.take(TOKEN, "new")
    assert taken.graph == {"name": "before the reload"}
    assert records.take(TOKEN, "new") is None  # taken once; the open tab's is never taken
    active.clear()  # that tab closes too: now its record can be taken
    assert records.take(TOKEN, "new").graph == {"name": "still open"}


class RecordingManager:
    def __init__(self):
        self.ended = []

    def end_owner(self, owner):
        self.ended.append(owner)


def test_a_reload_that_cancels_the_pending_end_keeps_the_runs_even_as_the_timer_fires():
    manager = RecordingManager()
    pending = _PendingEnds(manager, session_active=lambda session_id: False)
    pending.schedule("reloaded", "s1", 0.05)
    assert pending.cancel("reloaded")  # the runs were still alive: they are adopted
    assert not pending.cancel("reloaded")  # nothing pending any more
    pending.schedule("closed", "s2", 0.05)
    deadline = time.monotonic() + 20  # a busy box delays timers
    while not manager.ended and time.monotonic() < deadline:
        time.sleep(0.05)
    assert manager.ended == ["closed"]
    assert not pending.cancel("closed")  # ended: a late reload adopts nothing

    # The timer already fired and waits for the lock while a reload cancels: the runs stay.
    pending.schedule("racing", "s3", 60)
    timer = pending._timers["racing"]
    with pending._lock:
        firing = threading.Thread(target=pending._fire, args=(timer, "racing", "s3", 60))
        firing.start()
        time.sleep(0.05)
        pending._cancel_locked("racing")
    firing.join(5)
    assert manager.ended == ["closed"]


@pytest.mark.parametrize("token", ["", "ABCDEF0123456789ABCDEF0123456789", "0" * 31, None, 5])
def test_malformed_tokens_are_refused(token):
    app = open_app({"token": token, "graph": None})
    assert app.session_state["layerloom.browser_token"] is None


def test_own_data_comes_back_with_the_session_or_is_named_when_its_folder_has_gone():
    carried = {"train.last_csv": ("prices.csv", "/s/a.csv"),
               "train.own_data.last_upload": {"text.csv": ("diary.csv", "/s/b.csv"),
                                              "images.camera": ("your photos", "/s/c.zip"),
                                              "points": ("your points", "/s/d.json")},
               "train.camera.photos": {0: [b"jpeg"]}, "train.points.list": [[0.1, 0.2, 0]],
               "layerloom.kept_widget_values": {"train.dataset": "text_csv"}}
    assert carried_values(carried, files_kept=True) == (carried, [])
    kept, lost = carried_values(carried, files_kept=False)
    assert lost == ["prices.csv", "diary.csv"]  # photos and points come back from memory
    assert set(kept) == {"train.camera.photos", "train.points.list",
                         "layerloom.kept_widget_values"}
