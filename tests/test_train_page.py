"""The Train page's controls and run states, driven through Streamlit's AppTest with tiny real
runs (the playground MLP on `moons`, a few hundred samples, thread workers)."""
import json
import math
import time
from pathlib import Path

import pytest
import safetensors.torch
import streamlit as st
from streamlit.testing.v1 import AppTest

from builder.templates import load_template
from trainers.datasets import list_datasets
from ui.train_live import FIRST_POINT_S, POLL_S

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "train.py")
SMALL_MOONS = {"train.option.moons.n_samples": 200}


@pytest.fixture(autouse=True)
def thread_workers(monkeypatch):
    """Thread workers start instantly; the process pool is the trainers' own concern."""
    monkeypatch.setenv("LAYERLOOM_WORKER", "thread")


def open_page(template: str = "mlp_playground", **widgets) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.session_state["layerloom.graph"] = load_template(template).to_dict()
    app.session_state["layerloom.graph_revision"] = 0
    rerun(app)
    if template == "mlp_playground":
        widgets = {**SMALL_MOONS, **widgets}
    for key, value in widgets.items():
        set_widget(app, key, value)
    return rerun(app)


def rerun(app: AppTest) -> AppTest:
    """Run the page again; any exception on the page fails the test."""
    app.run()
    assert not app.exception, app.exception
    return app


def set_widget(app: AppTest, key: str, value) -> None:
    for kind in ("number_input", "select_slider", "selectbox", "slider", "checkbox"):
        found = [w for w in getattr(app, kind) if w.key == key]
        if found:
            found[0].set_value(value)
            return
    raise AssertionError(f"no widget with key {key!r} on the page")


def button(app: AppTest, key: str):
    return next(b for b in app.button if b.key == key)


def click(app: AppTest, key: str) -> AppTest:
    button(app, key).click()
    return rerun(app)


def latest_job(app: AppTest):
    return app.session_state["layerloom.runs"][-1].job


def plain(markdown: str) -> str:
    """Markdown as the person reads it (the page escapes punctuation in user-provided text)."""
    return markdown.replace("\\", "")


def wait_for(condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert value, f"timed out waiting for {what}"
    return value


def loss_chart(app: AppTest) -> dict:
    """The live loss chart's plotly spec."""
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    charts = [spec for spec in specs if spec["layout"].get("uirevision") == "loss"]
    assert charts, "the live loss chart is missing"
    return charts[0]


def loss_points(app: AppTest) -> int:
    return sum(len(trace.get("x", [])) for trace in loss_chart(app)["data"])


def resume_with_lr(app: AppTest, lr: float) -> None:
    next(w for w in app.number_input if w.label.startswith("Learning rate from")).set_value(lr)
    next(b for b in app.button if b.label == "Resume").click()
    rerun(app)


def test_page_before_any_run_invites_to_start():
    app = open_page()
    assert app.title[0].value == "Train"
    assert any("Start training" in info.value for info in app.info)
    assert not button(app, "train.start").disabled


def test_every_offline_dataset_shows_a_preview():
    app = open_page()
    for info in list_datasets(include_online=False):
        set_widget(app, "train.dataset", info.name)
        rerun(app)
        previews = [chart for chart in app.get("plotly_chart")] + list(app.dataframe)
        assert previews, f"no preview for {info.name}"
        assert info.description[:20] in plain(app.caption[0].value)


def test_start_trains_to_the_end_and_keeps_the_curves():
    app = open_page(**{"train.classification.epochs": 3})
    click(app, "train.start")
    job = latest_job(app)
    assert job.wait(30), "the run did not finish"
    rerun(app)
    assert job.status == "finished", job.error
    assert any("finished" in markdown.value for markdown in app.markdown)
    assert loss_points(app) > 0
    assert app.session_state["train.polling"] is None  # no timer once the run is over
    table = app.dataframe[-1].value
    assert list(table["status"]) == ["finished"]


def test_pause_change_lr_resume_and_stop():
    app = open_page(**{"train.classification.epochs": 500})
    click(app, "train.start")
    job = latest_job(app)
    wait_for(lambda: job.progress().step, "the first training steps")
    click(app, "train.pause")
    assert job.status == "paused"
    assert app.session_state["train.polling"] is None  # nothing to refresh while paused
    resume_with_lr(app, 0.05)
    assert job.status == "running" and app.session_state["train.polling"] == POLL_S
    changes = wait_for(lambda: [e for e in job.metrics().events if e["kind"] == "config_changed"],
                       "the lr change to reach the run")
    assert math.isclose(changes[0]["changes"]["lr"], 0.05)
    rerun(app)
    assert [shape["x0"] for shape in loss_chart(app)["layout"]["shapes"]]  # marked on the chart
    click(app, "train.stop")
    assert job.wait(10)
    rerun(app)
    assert job.status == "stopped"


def test_a_run_that_blows_up_shows_its_error_and_keeps_its_curves():
    # The GRU forecaster trains calmly with SGD at lr 0.01, then blows up (inf/NaN) at lr 3.
    app = open_page("gru_forecast", **{"train.regression.optimizer": "sgd",
                                      "train.regression.lr": 0.01,
                                      "train.regression.epochs": 500})
    click(app, "train.start")
    job = latest_job(app)
    wait_for(lambda: job.metrics().steps, "a first point on the loss curve")
    click(app, "train.pause")
    resume_with_lr(app, 3.0)
    assert job.wait(30)
    rerun(app)
    assert job.status == "failed"
    assert any("The loss became" in error.value for error in app.error)
    assert loss_points(app) > 0  # the curve up to the failure is kept
    assert any("Lower the learning rate" in warning.value for warning in app.warning)  # advice
    assert job.model_snapshot() is not None  # the last good weights


def test_a_graph_that_does_not_fit_the_data_blocks_start_until_fixed_in_one_click_each():
    app = open_page("mlp_digits", **{"train.dataset": "moons"})  # 8x8 images in, 10 classes out
    assert button(app, "train.start").disabled
    assert "has shape [1, 8, 8]" in plain(app.error[0].value)
    click(app, "train.fix.0")  # Set x shape to [2]
    assert "needs 2 outputs" in app.error[0].value
    click(app, "train.fix.0")  # Set fc2 out_features to 2
    assert not app.error and not button(app, "train.start").disabled
    assert app.session_state["layerloom.graph"]["nodes"][0]["params"]["shape"] == [2]


def test_fork_continues_from_the_weights_and_runs_overlay_on_one_chart():
    app = open_page(**{"train.classification.epochs": 5})
    click(app, "train.start")
    parent = latest_job(app)
    assert parent.wait(30)
    rerun(app)
    set_widget(app, "train.classification.optimizer", "sgd")
    rerun(app)
    click(app, "train.fork")
    child = latest_job(app)
    assert child.wait(30)
    rerun(app)
    runs = app.session_state["layerloom.runs"]
    assert [run.forked_from for run in runs] == [None, 1] and runs[1].config.optimizer == "sgd"
    # Starting from trained weights, the fork's first loss is already near where the parent ended.
    assert child.metrics().steps[0]["loss"] < parent.metrics().steps[0]["loss"]
    overlay = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")
               if json.loads(chart.proto.spec)["layout"].get("uirevision") == "overlay.loss"]
    names = [trace["name"] for trace in overlay[0]["data"]]
    assert names == [f"{run.name} · {curve}" for run in runs for curve in ("train", "validation")]
    assert runs[1].name.startswith("Run 2 · sgd")
    weights = safetensors.torch.load(runs[0].weights_bytes())
    assert set(weights) == set(parent.weights())


def test_editing_the_graph_during_a_run_leaves_the_run_alone():
    app = open_page(**{"train.classification.epochs": 500})
    click(app, "train.start")
    run = app.session_state["layerloom.runs"][-1]
    started_with = json.dumps(run.graph, sort_keys=True)
    session_graph = app.session_state["layerloom.graph"]
    session_graph["nodes"][-1]["params"]["out_features"] = 7  # an edit in place, as on Build
    rerun(app)
    assert json.dumps(run.graph, sort_keys=True) == started_with
    assert run.job.status in ("queued", "running"), run.job.error
    click(app, "train.stop")
    assert run.job.wait(10)


@pytest.fixture
def server_limits(monkeypatch):
    """Set server limits (LAYERLOOM_* variables); a fresh job manager reads them."""
    def set_limits(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        st.cache_resource.clear()
    yield set_limits
    st.cache_resource.clear()


def test_a_busy_server_shows_each_waiting_run_its_place_in_the_queue(server_limits):
    server_limits(LAYERLOOM_MAX_JOBS="1")
    teacher, student = open_page(**{"train.classification.epochs": 500}), open_page()
    click(teacher, "train.start")
    click(student, "train.start")
    assert any("number 1 in the queue" in info.value for info in student.info)
    assert student.session_state["train.polling"] == FIRST_POINT_S  # looking for its turn
    click(teacher, "train.stop")
    waiting = latest_job(student)
    assert waiting.wait(30) and waiting.status == "finished", waiting.error


def test_an_autoencoder_run_shows_inputs_over_their_reconstructions():
    app = open_page("autoencoder_dense", **{"train.autoencoder.epochs": 2})
    click(app, "train.start")
    assert latest_job(app).wait(30)
    rerun(app)
    revisions = [json.loads(chart.proto.spec)["layout"].get("uirevision")
                 for chart in app.get("plotly_chart")]
    assert "reconstructions" in revisions and "loss" in revisions


def test_a_run_and_the_settings_survive_a_visit_to_build():
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    rerun(app)
    rerun(app.switch_page("pages/train.py"))
    # 3,000 epochs of digits' 1,257 training rows: within the 5M sample-epochs (10,000 is not)
    set_widget(app, "train.classification.epochs", 3_000)
    click(app, "train.start")  # in the same run as the new epochs: typed, then Start at once
    job = latest_job(app)
    assert job.spec.config.epochs == 3_000  # not the value of the run before
    rerun(app.switch_page("pages/build.py"))
    steps_when_leaving = job.progress().step
    wait_for(lambda: job.progress().step > steps_when_leaving, "training to go on meanwhile")
    rerun(app.switch_page("pages/train.py"))
    assert latest_job(app) is job and job.status == "running"
    assert app.number_input(key="train.classification.epochs").value == 3_000  # settings kept
    assert any("training" in markdown.value for markdown in app.markdown)
    click(app, "train.stop")
    assert job.wait(10)


def test_a_run_the_server_refuses_says_why_and_starts_nothing(server_limits):
    server_limits(LAYERLOOM_MAX_PARAMS="100")  # the playground MLP has about 120 parameters
    app = open_page()
    click(app, "train.start")
    assert app.session_state["layerloom.runs"] == []
    assert "at most 100" in plain(app.error[0].value)


def table_csv(rows: int = 120) -> bytes:
    """Two numeric features and a yes/no label that depends on them."""
    lines = ["width,height,label"]
    for index in range(rows):
        width, height = (index * 37) % 100 / 10, (index * 53) % 100 / 10
        lines.append(f"{width},{height},{'yes' if width > height else 'no'}")
    return "\n".join(lines).encode()


def test_an_uploaded_table_trains_with_the_chosen_target():
    app = open_page(**{"train.dataset": "csv", "train.classification.epochs": 3})
    app.file_uploader(key="train.csv").upload("sizes.csv", table_csv(), "text/csv")
    rerun(app)
    assert app.selectbox(key="train.target").value == "label"
    click(app, "train.start")
    run = app.session_state["layerloom.runs"][-1]
    assert run.job.wait(30)
    assert run.job.status == "finished", run.job.error
    assert run.dataset == "csv" and run.dataset_options["target"] == "label"


def test_a_table_that_is_not_utf8_csv_is_refused_by_name():
    app = open_page(**{"train.dataset": "csv"})
    app.file_uploader(key="train.csv").upload("scan.csv", b"\xff\xfe\x00bad", "text/csv")
    rerun(app)
    assert "scan.csv: no header row" in plain(app.error[0].value)
    assert button(app, "train.start").disabled


class RecordingManager:
    def __init__(self):
        self.ended = []

    def end_owner(self, owner):
        self.ended.append(owner)


def test_a_disconnect_ends_the_sessions_jobs_only_after_the_grace_period():
    from ui.session_lease import _PendingEnds
    manager, connected = RecordingManager(), {"back-on-build"}
    pending = _PendingEnds(manager, session_active=connected.__contains__)
    pending.schedule("closed-tab", "s1", 0.05)
    pending.schedule("blip", "s2", 0.05)
    pending.cancel("blip")  # the tab came back and reran the Train page within the grace period
    pending.schedule("back-on-build", "back-on-build", 0.05)  # came back, but on another page
    time.sleep(0.3)
    assert manager.ended == ["closed-tab"]
    connected.clear()  # that tab closes too: the repeated check ends its jobs
    time.sleep(0.3)
    assert manager.ended == ["closed-tab", "back-on-build"]


def test_starting_weights_are_checked_against_the_graph_and_used(tmp_path):
    import io

    import torch
    from safetensors.torch import save

    from builder import compile_graph

    app = open_page(**{"train.classification.epochs": 1})
    torch.manual_seed(0)
    good = save(compile_graph(load_template("mlp_playground")).state_dict())
    wrong = save(compile_graph(load_template("mlp_digits")).state_dict())
    def upload(name: str, content: bytes) -> AppTest:
        app.file_uploader(key="train.init_weights").upload(name, content, "application/octet-stream")
        return rerun(app)

    upload("digits.safetensors", wrong)
    assert app.error[0].value.startswith("digits\\.safetensors does not fit this graph")
    upload("pickled.safetensors", io.BytesIO(b"\x80\x04\x95 not weights").getvalue())
    assert app.error[0].value.startswith("pickled\\.safetensors is not a safetensors weights file")
    upload("moons.safetensors", good)
    assert any("will start from moons\\.safetensors" in c.value for c in app.caption)
    click(app, "train.start")
    job = latest_job(app)
    assert job.spec.init_state and job.spec.init_state.endswith(".safetensors")
    assert job.wait(30) and job.status == "finished", job.error


def test_an_uploaded_table_is_still_there_after_a_visit_to_another_page():
    app = open_page(**{"train.dataset": "csv"})
    app.file_uploader(key="train.csv").upload("sizes.csv", table_csv(), "text/csv")
    rerun(app)
    set_widget(app, "train.target", "width")
    rerun(app)
    app.file_uploader(key="train.csv").clear()  # what Streamlit does while another page is shown
    rerun(app)
    assert any("Using sizes\\.csv, uploaded earlier" in c.value for c in app.caption)
    assert app.selectbox(key="train.target").value == "width"


def test_a_very_wide_table_is_refused_on_its_header_not_offered_as_columns():
    """200,000 columns took 112 s of server CPU and ended in MessageSizeError (issue #12)."""
    header = ",".join(f"c{i}" for i in range(200_000))
    app = open_page(**{"train.dataset": "csv"})
    app.file_uploader(key="train.csv").upload("wide.csv", (header + "\n" + header + "\n").encode(),
                                              "text/csv")
    rerun(app)
    assert "wide.csv: The header has 200,000 columns; at most 1,000" in plain(app.error[0].value)
    assert not [box for box in app.selectbox if box.label == "Column to predict"]
