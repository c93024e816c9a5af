"""Every template, end to end in the app (AppTest): load it, the Train page offers its dataset and
task with no problem, a short run finishes, and every Inspect tab draws a figure without an
exception, with titled axes. Driven by the template registry, so a new template is covered
automatically."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.templates import list_templates, load_template

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALLEST = {"n_samples": "min"}  # dataset options shrunk for speed (the bar stays the template's)


@pytest.fixture(scope="module", autouse=True)
def thread_workers():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERLOOM_WORKER", "thread")
        yield


def _widget(widgets, key: str):
    return next((w for w in widgets if w.key == key), None)


def untitled_axes(chart) -> list[str]:
    """"x" or "y" when no axis of that direction has a title in a chart with visible axes."""
    layout = json.loads(chart.proto.spec)["layout"]
    missing = []
    for direction in ("x", "y"):
        axes = [axis for name, axis in layout.items() if name.startswith(f"{direction}axis")] or [{}]
        axes = [axis for axis in axes if axis.get("visible", True) is not False]
        if axes and not any((axis.get("title") or {}).get("text") for axis in axes):
            missing.append(direction)
    return missing


def train_page_for(template) -> AppTest:
    """The Train page after loading `template`, on its declared dataset and task."""
    app = AppTest.from_file(APP, default_timeout=90)
    app.session_state["layerloom.graph"] = load_template(template.name).to_dict()
    app.session_state["layerloom.graph_revision"] = 0
    app.switch_page("pages/train.py").run()
    dataset = app.selectbox(key="train.dataset")
    if dataset.value != template.dataset:  # set explicitly when the page did not follow the template
        dataset.set_value(template.dataset).run()
    assert not app.exception, app.exception
    return app


def shrink_and_shorten(app: AppTest, template) -> None:
    """One epoch on the dataset's smallest size: the run only has to finish."""
    size = _widget(app.number_input, f"train.option.{template.dataset}.n_samples")
    if size is not None:
        size.set_value(size.min)
    _widget(app.number_input, f"train.{template.task}.epochs").set_value(1)
    app.run()


@pytest.mark.parametrize("template", list_templates(), ids=lambda t: t.name)
def test_template_trains_and_every_inspect_tab_draws(template):
    app = train_page_for(template)
    assert app.selectbox(key="train.task").value == template.task
    assert not app.error, [e.value for e in app.error]  # the graph fits its dataset and task
    shrink_and_shorten(app, template)
    app.button(key="train.start").click().run()
    assert not app.exception, app.exception
    job = app.session_state["layerloom.runs"][-1].job
    assert job.wait(120) and job.status == "finished", job.error

    app.switch_page("pages/inspect.py").run()
    assert not app.exception, app.exception
    labels = [tab.label for tab in app.tabs]
    assert labels and labels[0] == "Prediction"
    for label in labels:
        app.session_state["inspect.view"] = label
        app.run()
        assert not app.exception, f"{label}: {app.exception}"
        assert not app.error, f"{label}: {[e.value for e in app.error]}"
        charts = app.get("plotly_chart")
        assert charts, f"{template.name}'s {label} tab draws no figure"
        for chart in charts:
            title = json.loads(chart.proto.spec)["layout"].get("title")
            assert not untitled_axes(chart), f"{label}: a chart without axis titles ({title})"
        assert not app.get("json"), f"{label} prints raw JSON where a figure fits"
        assert not app.dataframe, f"{label} shows a number table where a figure fits"
