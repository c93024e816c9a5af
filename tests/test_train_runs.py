"""A session's runs on the Train page: selectors follow the newest run unless the person picked
one, a run dropped at the limit is named (and offered for download first), a fork is plotted from
its parent's epoch, and a run's label shows the settings it changed on resume."""
import json

from tests.test_train_page import (click, latest_job, open_page, rerun, resume_with_lr,  # noqa: F401
                                   server_limits, thread_workers, wait_for)
from trainers.config import make_config
from trainers.metrics import MetricsHistory
from ui.runs import settings_label
from viz.training import run_curves

SHORT = {"train.classification.epochs": 2}


def finished_run(app):
    click(app, "train.start")
    assert latest_job(app).wait(30)
    return rerun(app)


def overlay_traces(app) -> list[dict]:
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    return next(spec["data"] for spec in specs if spec["layout"].get("uirevision") == "overlay.loss")


def test_selectors_follow_the_newest_run_until_the_person_picks_one():
    app = open_page(**SHORT)
    for _ in range(3):
        finished_run(app)
    assert app.selectbox(key="train.download_run").value == 3
    assert app.multiselect(key="train.overlay").value == [2, 3]
    app.selectbox(key="train.download_run").set_value(1)
    app.multiselect(key="train.overlay").set_value([1, 3])
    rerun(app)
    finished_run(app)
    assert app.selectbox(key="train.download_run").value == 1  # the person's picks stay
    assert app.multiselect(key="train.overlay").value == [1, 3]
    app.selectbox(key="train.download_run").set_value(4)
    rerun(app)
    finished_run(app)
    assert app.selectbox(key="train.download_run").value == 5  # back on the newest: follows again


def test_the_run_dropped_at_the_limit_is_named_and_offered_for_download_first(server_limits):
    server_limits(LAYERLOOM_RUNS_PER_SESSION="2")
    app = open_page(**SHORT)
    finished_run(app)
    assert not [w for w in app.warning if "drops" in w.value]
    finished_run(app)
    [warning] = [w.value for w in app.warning if "drops" in w.value]
    assert "Run 1 · " in warning and "keeps 2 runs" in warning
    assert {"train.drop.metrics", "train.drop.weights", "train.drop.graph"} <= {
        b.key for b in app.get("download_button")}
    finished_run(app)
    assert [run.number for run in app.session_state["layerloom.runs"]] == [2, 3]
    assert any("Run 1 · " in w.value and "was dropped" in w.value for w in app.warning)


def test_a_fork_is_plotted_from_its_parents_epoch():
    app = open_page(**{"train.classification.epochs": 4})
    finished_run(app)
    click(app, "train.fork")
    assert latest_job(app).wait(30)
    rerun(app)
    parent, fork = app.session_state["layerloom.runs"]
    assert fork.start_epoch == 4
    traces = {trace["name"]: trace for trace in overlay_traces(app)}
    parent_x = traces[f"{parent.name} · validation"]["x"]
    fork_x = traces[f"{fork.name} · validation"]["x"]
    assert parent_x[-1] == 4 and fork_x[0] == 5 and fork_x[-1] == 8
    assert min(fork.curves().step_x) > 4  # its per-step losses too


def test_run_curves_start_at_the_given_epoch():
    history = MetricsHistory()
    history.apply({"kind": "step", "step": 10, "epoch": 0, "loss": 1.0, "lr": 0.1, "samples_per_s": 1.0})
    history.apply({"kind": "epoch", "epoch": 1, "train_loss": 0.5, "val_loss": 0.6, "train_metric": None,
                   "val_metric": None, "lr": 0.1, "metric": None})
    history.apply({"kind": "config_changed", "step": 15, "changes": {"lr": 0.01}})
    curves = run_curves("Run 2", history.snapshot(), steps_per_epoch=20, start_epoch=12)
    assert list(curves.step_x) == [12.5] and list(curves.epoch_x) == [13]
    assert [x for x, _ in curves.changes] == [12.75]


def test_a_run_resumed_with_a_new_lr_is_named_and_listed_with_both():
    app = open_page(**{"train.classification.epochs": 500})
    click(app, "train.start")
    run = app.session_state["layerloom.runs"][-1]
    wait_for(lambda: run.job.progress().step, "the first training steps")
    click(app, "train.pause")
    resume_with_lr(app, 0.05)
    wait_for(lambda: "→0.05" in run.name, "the lr change to reach the run")
    click(app, "train.stop")
    assert run.job.wait(10)
    rerun(app)
    assert run.name == f"Run 1 · adam lr {run.config.lr:g}→0.05"
    assert any(run.name in m.value.replace("\\", "") for m in app.markdown)  # the live panel's title
    assert app.dataframe[0].value["lr"].tolist() == [f"{run.config.lr:g}→0.05"]


def test_a_runs_label_shows_each_setting_it_changed():
    config = make_config(lr=0.003, epochs=10)
    assert settings_label(config, []) == "lr 0.003"
    events = [{"kind": "config_changed", "step": 5, "changes": {"lr": 0.03}},
              {"kind": "alert", "code": "loss_flat"},
              {"kind": "config_changed", "step": 9, "changes": {"epochs": 20, "lr": 0.01}}]
    assert settings_label(config, events) == "lr 0.003→0.03→0.01 · epochs 10→20"


def test_a_run_renamed_by_a_resume_between_page_runs_keeps_its_place_in_the_selectors():
    # The selectors' option labels must not change from one page run to the next: the browser
    # sends the label it showed, and a label that changed in between no longer finds its run.
    app = open_page(**{"train.classification.epochs": 500})
    click(app, "train.start")
    run = app.session_state["layerloom.runs"][-1]
    wait_for(lambda: run.job.progress().step, "the first training steps")
    click(app, "train.pause")  # the page is drawn with the run's first lr
    run.job.resume({"lr": 0.05})  # e.g. from the live panel of another tab of the same session
    wait_for(lambda: "→0.05" in run.name, "the lr change to reach the run")
    click(app, "train.stop")
    assert run.job.wait(10)
    rerun(app)
    assert app.selectbox(key="train.download_run").value == run.number
    assert app.selectbox(key="train.download_run").options == [run.started_as]
