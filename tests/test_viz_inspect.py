"""Inspect figures carry the data they are given, labelled the way a student reads them."""
import numpy as np

from viz import inspect as figures
from viz.images import CAPTION_PX, FULL_WIDTH_PX


def test_feature_maps_are_capped_scaled_per_channel_and_captioned():
    maps = np.stack([np.full((4, 4), 5.0), np.arange(16.0).reshape(4, 4)] * 20)  # 40 channels
    figure = figures.feature_maps_figure(maps, "c1")
    assert "first 32 channels" in figure.layout.title.text
    assert len(figure.layout.annotations) == 32
    mosaic = figure.data[0].z
    assert np.nanmax(mosaic) == 1.0 and np.nanmin(mosaic) == 0.0  # each channel stretched to [0, 1]


def test_attention_has_one_panel_per_head_plus_the_average_labelled_with_tokens():
    weights = np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 3))  # (heads=2, T=3, S=3)
    figure = figures.attention_figure(weights, ["not", "good", "not"], "enc1")
    assert len(figure.data) == 3
    assert list(figure.data[0].x) == ["0:not", "1:good", "2:not"]
    np.testing.assert_allclose(figure.data[2].z, weights.mean(axis=0), rtol=1e-6)
    assert [a.text for a in figure.layout.annotations] == ["head 0", "head 1", "average of heads"]


def test_attention_colours_span_the_weights_shown_not_zero_to_one():
    uniform = np.full((2, 16, 16), 1 / 16)  # 16 tokens: every weight 0.0625
    uniform[0, 0] = np.eye(16)[3]  # one query of head 0 looks at a single key
    figure = figures.attention_figure(uniform, [f"w{i}" for i in range(16)], "enc1")
    assert figure.layout.coloraxis.cmin == 0 and figure.layout.coloraxis.cmax == 1.0
    figure = figures.attention_figure(np.full((2, 16, 16), 1 / 16), [f"w{i}" for i in range(16)], "enc1")
    assert figure.layout.coloraxis.cmax == 1 / 16
    assert {t.coloraxis for t in figure.data} == {"coloraxis"}  # one scale for every panel


def test_small_kernels_are_enlarged_so_captions_sit_between_rows():
    kernels = np.random.default_rng(0).normal(size=(16, 1, 3, 3))
    figure = figures.filters_figure(kernels, "conv1")
    mosaic = np.asarray(figure.data[0].z, dtype=float)
    first_column = mosaic[:, 0]  # runs through the first tile of each of the two rows
    assert (~np.isnan(first_column)).sum() == 2 * figures.FILTER_TILE_PX
    top = int(np.flatnonzero(~np.isnan(first_column))[0])  # the caption's room above the tile
    screen_px_per_pixel = FULL_WIDTH_PX / mosaic.shape[1]
    assert top * screen_px_per_pixel >= CAPTION_PX  # enough for a line of text, on screen
    kernel = kernels[0, 0]
    scaled = (kernel - kernel.min()) / (kernel.max() - kernel.min())
    np.testing.assert_allclose(mosaic[top:top + 12, :12], np.kron(scaled, np.ones((4, 4))), atol=1e-6)


def test_activation_stats_show_dead_units_only_for_rectifiers_as_percent():
    rows = [{"node": "fc1", "mean": 0.2, "std": 1.0, "dead_fraction": None},
            {"node": "relu1", "mean": 0.5, "std": 0.3, "dead_fraction": 0.25}]
    figure = figures.activation_stats_figure(rows)
    assert list(figure.data[0].x) == ["fc1", "relu1"]
    assert list(figure.data[1].x) == ["relu1"] and list(figure.data[1].y) == [25.0]


def test_gradient_flow_has_a_line_per_layer_on_a_log_axis():
    figure = figures.gradient_flow_figure([{"a": 1.0, "b": 1e-3}, {"a": 0.5, "b": 1e-5}])
    assert [t.name for t in figure.data] == ["a", "b"]
    assert list(figure.data[1].y) == [1e-3, 1e-5]
    assert figure.layout.yaxis.type == "log"


def test_confusion_and_class_bars_keep_counts_and_highlight_the_prediction():
    confusion = np.array([[5, 1], [0, 4]])
    figure = figures.confusion_figure(confusion, ["cat", "dog"])
    assert np.array_equal(np.asarray(figure.data[0].z), confusion)
    bars = figures.class_bars_figure([0.1, 0.9], ["cat", "dog"], title="p", highlight=1)
    assert list(bars.data[0].y) == [10.0, 90.0]
    assert list(bars.data[0].marker.color) == ["#1f77b4", "#ff7f0e"]


def test_user_text_in_labels_is_escaped():
    figure = figures.token_saliency_figure(["<b>x</b>"], [1.0])
    assert "<b>" not in figure.data[0].x[0]
