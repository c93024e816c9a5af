"""The training and dataset-preview figures: bounded size, the right traces, escaped user text."""
import numpy as np
import pytest

from viz import datasets as preview
from viz.images import image_grid_figure
from viz.training import (MAX_POINTS, RunCurves, decision_boundary_figure, downsample,
                          loss_figure, metric_figure, reconstruction_figure, run_curves, smooth)


def long_run(name="relu", steps=5000, epochs=10, **extra) -> RunCurves:
    step_x = np.linspace(0, epochs, steps)
    return RunCurves(name=name, step_x=step_x, step_loss=np.exp(-step_x) + 0.05,
                     epoch_x=list(range(1, epochs + 1)),
                     val_loss=[0.6] * epochs,
                     train_metric=[0.8] * epochs, val_metric=[0.7] * epochs,
                     metric_name="accuracy", **extra)


def test_downsample_bounds_points_keeps_range_and_mean():
    x = np.arange(10_000, dtype=float)
    y = np.sin(x / 500)
    small_x, small_y = downsample(x, y, max_points=200)
    assert len(small_x) == len(small_y) == 200
    assert small_x[0] < 50 and small_x[-1] > 9_950  # both ends of the run are still there
    assert small_y.mean() == pytest.approx(y.mean(), abs=1e-9)


def test_downsample_leaves_short_curves_alone():
    x, y = downsample([0, 1, 2], [3.0, 2.0, 1.0])
    assert list(x) == [0, 1, 2] and list(y) == [3, 2, 1]


def test_smooth_is_debiased_and_lags_a_jump():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    jumped = smooth([0.0] * 5 + [1.0] * 5)
    assert 0 < jumped[5] < 1 and jumped[-1] > jumped[5]


def test_loss_figure_is_bounded_and_keeps_zoom():
    figure = loss_figure([long_run()])
    assert figure.layout.uirevision == "loss"
    names = [trace.name for trace in figure.data]
    assert names == ["train", "validation"]
    assert all(len(trace.x) <= MAX_POINTS for trace in figure.data)
    assert figure.data[0].y[-1] == pytest.approx(np.exp(-10) + 0.05, abs=0.02)


def test_config_change_is_marked_on_the_chart():
    figure = loss_figure([long_run(changes=[(4.0, "lr 0.1 → 0.01")])])
    assert [shape.x0 for shape in figure.layout.shapes] == [4.0]
    assert "lr 0.1 → 0.01" in [note.text for note in figure.layout.annotations]


def test_overlay_names_each_run_and_escapes_user_text():
    figure = loss_figure([long_run("ReLU"), long_run("<b>Sigmoid</b>")])
    names = [trace.name for trace in figure.data]
    assert names[:2] == ["ReLU · train", "ReLU · validation"]
    assert "&lt;b&gt;Sigmoid&lt;/b&gt; · train" in names
    assert figure.data[0].line.color != figure.data[2].line.color


def test_metric_figure_skips_epochs_without_validation():
    run = RunCurves("r", epoch_x=[1, 2, 3], train_metric=[0.5, 0.6, 0.7],
                    val_metric=[None, 0.55, float("nan")], metric_name="accuracy")
    figure = metric_figure([run])
    assert figure.layout.yaxis.title.text == "accuracy"
    train, validation = figure.data
    assert list(train.x) == [1, 2, 3] and list(validation.x) == [2]


def test_empty_run_gives_an_empty_chart_not_an_error():
    assert len(loss_figure([RunCurves("new")]).data) == 0


def test_decision_boundary_shows_what_the_model_predicts():
    points = np.array([[-1.0, 0.0], [1.0, 0.0], [-0.5, 1.0], [0.5, -1.0]])
    labels = np.array([0, 1, 0, 1])
    figure = decision_boundary_figure(points, labels, lambda mesh: (mesh[:, 0] > 0).astype(int),
                                      class_names=["left", "right"], resolution=20)
    heatmap = figure.data[0]
    z = np.asarray(heatmap.z)
    assert z.shape == (20, 20)
    left_half, right_half = np.asarray(heatmap.x) < 0, np.asarray(heatmap.x) > 0
    assert (z[:, left_half] == 0).all() and (z[:, right_half] == 1).all()
    assert [trace.name for trace in figure.data[1:]] == ["left", "right"]


def test_image_grid_tiles_every_image_with_gaps_as_background():
    images = np.ones((10, 1, 8, 8))
    figure = image_grid_figure(images, columns=4)
    mosaic = np.asarray(figure.data[0].z, dtype=float)
    assert np.nansum(mosaic) == 10 * 64  # every pixel of every image, nothing else
    assert mosaic.shape[1] == 4 * 8 + 3


def test_image_grid_rejects_a_non_image_batch_with_its_shape():
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        image_grid_figure(np.zeros((5, 2)))


def test_reconstructions_sit_under_their_inputs():
    originals, reconstructions = np.zeros((6, 1, 4, 4)), np.ones((6, 1, 4, 4))
    mosaic = np.asarray(reconstruction_figure(originals, reconstructions).data[0].z, dtype=float)
    top, bottom = mosaic[: mosaic.shape[0] // 2], mosaic[mosaic.shape[0] // 2:]
    assert np.nanmax(top) == 0 and np.nanmin(bottom) == 1


@pytest.mark.parametrize("shape, dtype, kind", [
    ((1, 8, 8), "float", "image"), ((2,), "float", "scatter"), ((16,), "long", "tokens"),
    ((32, 1), "float", "sequence"), ((13,), "float", "table")])
def test_preview_kind_follows_the_input(shape, dtype, kind):
    assert preview.preview_kind(shape, dtype) == kind


def test_image_preview_captions_each_image_with_its_label():
    figure = preview.image_samples_figure(np.zeros((3, 1, 8, 8)), ["zero", "one", "<i>two</i>"])
    captions = [note.text for note in figure.layout.annotations]
    assert captions == ["zero", "one", "&lt;i&gt;two&lt;/i&gt;"]


def test_examples_frame_shows_texts_or_rows_with_their_labels():
    texts = preview.examples_frame({"x": None, "texts": ["very good", "not bad"],
                                    "labels": ["positive", "positive"]})
    assert texts.to_dict("records")[0] == {"text": "very good", "label": "positive"}
    rows = preview.examples_frame({"x": None, "rows": [{"age": 1.0}, {"age": 2.0}],
                                   "labels": ["no", "yes"]})
    assert list(rows.columns) == ["age", "target"] and list(rows["target"]) == ["no", "yes"]


def test_scatter_and_sequence_previews_have_one_trace_per_group():
    scatter = preview.scatter_figure(np.random.rand(30, 2), np.arange(30) % 3)
    assert len(scatter.data) == 3
    windows = preview.sequence_figure(np.random.rand(5, 32, 1), np.random.rand(5, 1), count=2)
    names = [trace.name for trace in windows.data]
    assert names == ["window 1", "target 1", "window 2", "target 2"]


def test_run_curves_reads_a_metrics_snapshot():
    from trainers.metrics import MetricsHistory
    history = MetricsHistory()
    for step in (10, 20, 30, 40):
        history.apply({"kind": "step", "step": step, "epoch": step // 20, "loss": 1.0 / step,
                       "lr": 0.1, "samples_per_s": 100.0})
    history.apply({"kind": "epoch", "epoch": 1, "train_loss": 0.5, "val_loss": 0.6,
                   "train_metric": 0.7, "val_metric": 0.65, "lr": 0.1, "metric": "accuracy"})
    history.apply({"kind": "config_changed", "step": 30, "changes": {"lr": 0.01}})
    curves = run_curves("Run 1", history.snapshot(), steps_per_epoch=20)
    assert list(curves.step_x) == [0.5, 1.0, 1.5, 2.0]
    assert list(curves.epoch_x) == [1] and list(curves.val_metric) == [0.65]
    assert curves.metric_name == "accuracy"
    assert list(curves.changes) == [(1.5, "lr → 0.01")]
