"""Figures for looking inside a model: feature maps, filters, attention, activation and gradient
statistics, weight histograms, confusion matrices, probabilities and saliency.

Pure functions from arrays to plotly figures; the probes that produce the arrays live in
`trainers.probes`.
"""
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.images import FULL_WIDTH_PX, image_grid_figure
from viz.text import plain

MAX_EPOCH_POINTS = 200  # per line of the gradient chart, however long the run
MAX_CHANNELS = 32  # a grid of more maps than this is unreadable on a projector
FILTER_TILE_PX = 12  # kernels are drawn at least this many (blocky) pixels tall
ATTENTION_ROW_PX = 300  # one row of attention panels: the square matrix and its labels
ATTENTION_GAP_PX = 110  # between rows: the rotated key labels and the next row's titles


def _unit_range(maps: np.ndarray) -> np.ndarray:
    """Scale each map to [0, 1] on its own, so a weak channel's pattern is still visible."""
    flat = maps.reshape(len(maps), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    scaled = (flat - low[:, None]) / np.maximum(high - low, 1e-12)[:, None]
    return scaled.reshape(maps.shape)


def feature_maps_figure(maps, node_id: str, *, columns: int = 8) -> go.Figure:
    """One tile per channel of a (C, H, W) activation, captioned with the channel index."""
    maps = np.asarray(maps, dtype=np.float32)[:MAX_CHANNELS]
    shown = f"first {len(maps)} channels" if len(maps) == MAX_CHANNELS else f"{len(maps)} channels"
    return image_grid_figure(_unit_range(maps), columns=columns, width_px=FULL_WIDTH_PX,
                             captions=[f"ch {i}" for i in range(len(maps))],
                             title=f"Feature maps of {node_id} ({shown})")


def filters_figure(filters, node_id: str, *, columns: int = 8) -> go.Figure:
    """First-layer kernels (out, in, kh, kw) as images; RGB when the layer reads 3 channels."""
    filters = np.asarray(filters, dtype=np.float32)[:MAX_CHANNELS]
    if filters.shape[1] not in (1, 3):
        filters = filters.mean(axis=1, keepdims=True)  # (out, in, kh, kw) -> (out, 1, kh, kw)
    scaled = _blocky(_unit_range(filters), FILTER_TILE_PX)
    return image_grid_figure(scaled, columns=columns, width_px=FULL_WIDTH_PX,
                             captions=[f"filter {i}" for i in range(len(scaled))],
                             title=f"Filters of {node_id}")


def dense_weights_figure(weights, image_shape: Sequence[int], node_id: str, *, columns: int = 8) -> go.Figure:
    """A dense layer that reads a flattened image: each unit's weights (one row of the (out, C*H*W)
    matrix) drawn as an image of the input's shape, the classic view of what it looks for."""
    weights = np.asarray(weights, dtype=np.float32)[:MAX_CHANNELS]
    images = weights.reshape(len(weights), *image_shape)  # (units, C*H*W) -> (units, C, H, W)
    if images.shape[1] != 3:
        images = images.mean(axis=1, keepdims=True)
    scaled = _blocky(_unit_range(images), FILTER_TILE_PX)
    shown = f"first {len(images)} units" if len(images) == MAX_CHANNELS else f"{len(images)} units"
    return image_grid_figure(scaled, columns=columns, width_px=FULL_WIDTH_PX,
                             captions=[f"unit {i}" for i in range(len(images))],
                             title=f"Weights of {node_id} as images ({shown}; light = positive)")


def _blocky(images: np.ndarray, at_least: int) -> np.ndarray:
    """Repeat each pixel so tiles are at least `at_least` pixels tall: a 3x3 kernel's tile
    would otherwise leave its caption a one-pixel row to sit in, over the row above."""
    factor = -(-at_least // images.shape[-2])
    return images.repeat(factor, axis=-2).repeat(factor, axis=-1)


def attention_figure(weights, tokens: Sequence[str], node_id: str) -> go.Figure:
    """Each head's (T, S) attention matrix, then their average; rows are queries, columns keys."""
    weights = np.asarray(weights, dtype=np.float32)  # (heads, T, S)
    panels = [*weights, weights.mean(axis=0)]
    titles = [f"head {h}" for h in range(len(weights))] + ["average of heads"]
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    height = rows * ATTENTION_ROW_PX + (rows - 1) * ATTENTION_GAP_PX
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.08,
                           vertical_spacing=ATTENTION_GAP_PX / height)
    labels = [f"{i}:{plain(t)}" for i, t in enumerate(tokens)]  # index keeps repeated words apart
    for index, panel in enumerate(panels):
        figure.add_trace(go.Heatmap(z=panel, x=labels[:panel.shape[1]], y=labels[:panel.shape[0]],
                                    coloraxis="coloraxis",
                                    hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.2f}<extra></extra>"),
                         row=index // columns + 1, col=index % columns + 1)
    figure.update_yaxes(autorange="reversed", dtick=1)
    figure.update_xaxes(dtick=1, tickangle=-90)
    for row in range(1, rows + 1):  # which side attends to which, once per row; the other
        figure.update_yaxes(title_text="query (attends from)", row=row, col=1)  # panels share it
        for col in range(2, columns + 1):
            figure.update_yaxes(showticklabels=False, row=row, col=col)
    figure.update_xaxes(title_text="key (attended to)", row=rows)
    # One colour scale for every panel, up to the largest weight: over 16 tokens a uniform
    # row is 0.06 each, which a 0-to-1 scale would paint all the same pale blue.
    figure.update_layout(title=f"Attention in {plain(node_id)}", height=height + 60 + 80,
                         coloraxis={"colorscale": "Blues", "cmin": 0, "cmax": float(weights.max()),
                                    "colorbar": {"title": {"text": "weight"}}},
                         margin={"l": 10, "r": 10, "t": 60, "b": 100})  # b: the last row's key labels and title
    return figure


def activation_stats_figure(rows: Sequence[Mapping]) -> go.Figure:
    """Mean +- std of every node's output, and the share of dead units after each rectifier."""
    nodes = [plain(r["node"]) for r in rows]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Activation mean ± std", "Dead ReLU units"))
    figure.add_trace(go.Bar(x=nodes, y=[r["mean"] for r in rows], name="mean",
                            error_y={"type": "data", "array": [r["std"] for r in rows]}), row=1, col=1)
    rectified = [r for r in rows if r.get("dead_fraction") is not None]
    figure.add_trace(go.Bar(x=[plain(r["node"]) for r in rectified],
                            y=[100 * r["dead_fraction"] for r in rectified], name="% dead",
                            marker_color="#d62728"), row=1, col=2)
    if not rectified:
        figure.add_annotation(text="no ReLU layers in this model", showarrow=False,
                              xref="x2 domain", yref="y2 domain", x=0.5, y=0.5)
    figure.update_yaxes(title_text="activation value", row=1, col=1)
    figure.update_yaxes(title_text="% of units never active", range=[0, 100], row=1, col=2)
    figure.update_xaxes(title_text="layer (node id)")
    figure.update_layout(showlegend=False, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure


def gradient_flow_figure(grad_norms: Sequence[Mapping[str, float]]) -> go.Figure:
    """Per-layer gradient norm per epoch on a log scale: vanishing gradients sink, exploding rise.

    A long run is thinned to at most MAX_EPOCH_POINTS epochs per layer (the last always kept) and
    plotly chooses the ticks: a point and a tick per epoch froze the browser after 1,000 epochs."""
    figure = go.Figure()
    nodes = list(dict.fromkeys(node for epoch in grad_norms for node in epoch))
    epochs = np.unique(np.linspace(0, len(grad_norms) - 1, min(len(grad_norms), MAX_EPOCH_POINTS)).round()
                       .astype(int)) if grad_norms else np.array([], dtype=int)
    markers = "lines+markers" if len(epochs) <= 50 else "lines"
    for node in nodes:
        figure.add_trace(go.Scatter(x=(epochs + 1).tolist(), y=[grad_norms[e].get(node) for e in epochs],
                                    mode=markers, name=plain(node)))
    few = len(grad_norms) <= 20  # then one tick per epoch reads best
    figure.update_layout(title="Gradient norm per layer",
                         xaxis={"title": "epoch", "dtick": 1 if few else None},
                         yaxis={"type": "log", "title": "‖gradient‖"},
                         margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure


def weight_histogram_figure(weights: Mapping[str, np.ndarray], bins: int = 40) -> go.Figure:
    """One histogram per weight tensor (biases and norms left out), overlaid and semi-transparent.
    Each counts its share of the tensor's weights, so a small layer's shape shows beside a big one's."""
    figure = go.Figure()
    for name, values in weights.items():
        counts, edges = np.histogram(np.asarray(values, dtype=np.float32).ravel(), bins=bins)
        figure.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=100 * counts / max(counts.sum(), 1),
                                name=plain(name), opacity=0.6))
    figure.update_layout(title="Weight distributions", barmode="overlay", xaxis_title="weight value",
                         yaxis_title="% of the layer's weights", margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure


def confusion_figure(confusion, class_names: Sequence[str]) -> go.Figure:
    """Counts of (true, predicted) pairs; the diagonal is what the model got right."""
    names = [plain(n) for n in class_names]
    figure = go.Figure(go.Heatmap(z=confusion, x=names, y=names, colorscale="Blues",
                                  text=confusion, texttemplate="%{text}",
                                  hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>"))
    crowded = len(names) * max(map(len, names), default=1) > 40  # the labels would touch
    figure.update_layout(title="Confusion matrix", xaxis_title="predicted class", yaxis_title="true class",
                         xaxis={"tickangle": -45 if crowded else 0, "automargin": True, "type": "category"},
                         yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
                         height=max(360, 160 + 32 * len(names)),
                         margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure


def class_bars_figure(values, class_names: Sequence[str], *, title: str, highlight: int | None = None,
                      percent: bool = True) -> go.Figure:
    """Per-class bars (probabilities or accuracies), one bar optionally highlighted."""
    values = np.asarray(values, dtype=np.float64) * (100 if percent else 1)
    colors = ["#ff7f0e" if i == highlight else "#1f77b4" for i in range(len(values))]
    names = [plain(n) for n in class_names]
    crowded = len(names) * max(map(len, names), default=1) > 40
    figure = go.Figure(go.Bar(x=names, y=values, marker_color=colors))
    figure.update_layout(title=title, yaxis={"range": [0, 100] if percent else None,
                                             "title": "%" if percent else "value"},
                         xaxis={"title": "class", "tickangle": -45 if crowded else 0, "automargin": True,
                                "type": "category"},  # class "3" is a name, not a number
                         margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure


def saliency_figure(image, attribution, *, title: str = "What the prediction looked at") -> go.Figure:
    """The input image beside its attribution map (both (H, W); colour images averaged)."""
    image, attribution = np.asarray(image, np.float32), np.asarray(attribution, np.float32)
    if image.ndim == 3:
        image, attribution = image.mean(axis=0), attribution.mean(axis=0)  # (C, H, W) -> (H, W)
    figure = make_subplots(rows=1, cols=2, subplot_titles=("input", "attribution"))
    figure.add_trace(go.Heatmap(z=image, colorscale="gray", showscale=False), row=1, col=1)
    figure.add_trace(go.Heatmap(z=attribution, colorscale="Hot", showscale=False), row=1, col=2)
    figure.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    figure.update_xaxes(visible=False)
    figure.update_layout(title=title, margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return figure


def token_saliency_figure(tokens: Sequence[str], scores) -> go.Figure:
    """One coloured cell per token: how much each word moved the prediction."""
    scores = np.asarray(scores, dtype=np.float32)
    words = [plain(t) for t in tokens]
    figure = go.Figure(go.Heatmap(z=[scores], x=[f"{i}:{w}" for i, w in enumerate(words)], y=[""],
                                  text=[words], texttemplate="%{text}", colorscale="Oranges",
                                  showscale=False))
    figure.update_xaxes(title_text="token (position:word)")
    figure.update_yaxes(visible=False)  # one row: the words themselves
    figure.update_layout(title="Which words mattered (darker: moved the prediction more)", height=200,
                         margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return figure
