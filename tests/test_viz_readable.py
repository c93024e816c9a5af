"""Inspect figures a class can read on a projector: axis titles everywhere, labels that do not
collide, figures bounded however long the run, and a picture fitting each kind of data."""
import numpy as np
import pytest

from viz import inputs
from viz import inspect as figures
from viz.images import image_grid_figure

DIGITS = [str(i) for i in range(10)]
SHAPES = ["circle", "square", "triangle", "cross", "ring", "diamond", "horizontal bar",
          "vertical bar", "x", "hollow square"]


def axis_titles(figure) -> list[str]:
    """The title of every axis the figure shows."""
    layout = figure.to_plotly_json()["layout"]
    return [(axis.get("title") or {}).get("text") for name, axis in layout.items()
            if name.startswith(("xaxis", "yaxis")) and axis.get("visible", True) is not False]


def test_gradient_chart_of_a_thousand_epochs_stays_small_and_lets_plotly_pick_ticks():
    history = [{"fc1": 1.0 / (e + 1), "fc2": 0.5} for e in range(1000)]
    figure = figures.gradient_flow_figure(history)
    assert figure.layout.xaxis.dtick is None  # not a tick per epoch
    for trace in figure.data:
        assert len(trace.x) <= figures.MAX_EPOCH_POINTS
        assert trace.x[0] == 1 and trace.x[-1] == 1000  # the whole run still spans the axis
        assert trace.mode == "lines"
    assert figure.data[0].y[-1] == pytest.approx(1 / 1000)


def test_gradient_chart_of_a_short_run_ticks_every_epoch():
    figure = figures.gradient_flow_figure([{"fc1": 1.0}, {"fc1": 0.8}, {"fc1": 0.7}])
    assert figure.layout.xaxis.dtick == 1 and list(figure.data[0].x) == [1, 2, 3]


def test_attention_axes_say_which_side_attends_to_which():
    weights = np.random.default_rng(0).dirichlet(np.ones(4), size=(4, 4))  # 4 heads: 2 rows of panels
    titles = axis_titles(figures.attention_figure(weights, list("abcd"), "enc1"))
    assert titles.count("query (attends from)") == 2 and "key (attended to)" in titles


@pytest.mark.parametrize("names, angled", [(DIGITS, False), (SHAPES, True)])
def test_long_class_names_are_angled_so_they_do_not_overlap(names, angled):
    confusion = np.eye(len(names), dtype=int) * 5
    for figure in (figures.confusion_figure(confusion, names),
                   figures.class_bars_figure(np.ones(len(names)) / 10, names, title="p")):
        assert (figure.layout.xaxis.tickangle == -45) == angled
        assert figure.layout.xaxis.automargin


def test_every_chart_titles_its_axes():
    rng = np.random.default_rng(0)
    charts = [
        figures.activation_stats_figure([{"node": "fc1", "mean": 0.1, "std": 0.2, "dead_fraction": 0.1}]),
        figures.gradient_flow_figure([{"fc1": 1.0}]),
        figures.weight_histogram_figure({"fc1.weight": rng.normal(size=(4, 4))}),
        figures.confusion_figure(np.eye(3, dtype=int), list("abc")),
        figures.class_bars_figure([0.2, 0.8], ["no", "yes"], title="p"),
        figures.token_saliency_figure(["not", "good"], [0.2, 0.8]),
        inputs.sequence_figure(rng.normal(size=(20, 100)), title="t"),
        inputs.sequence_figure(rng.normal(size=(32, 1)), title="t"),
        inputs.forecast_figure(rng.normal(size=(32, 1)), 0.1, 0.2, title="t"),
        inputs.feature_bars_figure([1.0, -2.0], ["a", "b"], title="t"),
        inputs.predicted_vs_actual_figure(rng.normal(size=50), rng.normal(size=50), highlight=3),
    ]
    for chart in charts:
        titles = axis_titles(chart)
        assert titles and all(titles), (chart.layout.title.text, titles)


def test_a_long_sequence_of_many_features_is_a_heatmap_a_few_features_are_lines():
    rng = np.random.default_rng(0)
    heatmap = inputs.sequence_figure(rng.normal(size=(20, 100)), title="t")
    assert [t.type for t in heatmap.data] == ["heatmap"] and np.shape(heatmap.data[0].z) == (100, 20)
    lines = inputs.sequence_figure(rng.normal(size=(32, 2)), title="t")
    assert [t.type for t in lines.data] == ["scatter", "scatter"] and len(lines.data[0].x) == 32


def test_regression_figures_mark_the_example_looked_at():
    figure = inputs.predicted_vs_actual_figure([1.0, 2.0, 3.0], [1.5, 2.0, 2.5], highlight=2)
    assert (figure.data[-1].x[0], figure.data[-1].y[0]) == (2.5, 3.0)
    forecast = inputs.forecast_figure(np.zeros((32, 1)), 0.4, 0.5, title="t")
    assert [(t.name, t.x[0], t.y[0]) for t in forecast.data[1:]] == [("true next value", 33, 0.5),
                                                                     ("predicted", 33, 0.4)]


def test_one_mistake_keeps_the_tile_size_of_a_full_row():
    image = np.random.default_rng(0).random((1, 1, 8, 8))
    one = image_grid_figure(image, columns=4, captions=["3 → 8 (90%)"], keep_columns=True)
    four = image_grid_figure(np.repeat(image, 4, axis=0), columns=4, captions=["x"] * 4)
    assert one.layout.height == four.layout.height
    assert np.shape(one.data[0].z) == np.shape(four.data[0].z)


def test_dense_weights_are_drawn_as_images_of_the_input():
    weights = np.random.default_rng(0).normal(size=(64, 64))  # 64 units over 1x8x8 pixels
    figure = figures.dense_weights_figure(weights, (1, 8, 8), "fc1")
    assert len(figure.layout.annotations) == 32 and "fc1" in figure.layout.title.text
    assert np.nanmax(figure.data[0].z) == 1.0


def test_weight_histograms_compare_shapes_not_layer_sizes():
    rng = np.random.default_rng(0)
    figure = figures.weight_histogram_figure({"small": rng.normal(size=(4, 4)),
                                              "big": rng.normal(size=(400, 400))})
    assert [sum(trace.y) for trace in figure.data] == [pytest.approx(100), pytest.approx(100)]
