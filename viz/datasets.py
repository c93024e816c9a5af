"""Dataset previews: a first look at the data before training on it.

Which preview suits a dataset follows from its input: images (C, H, W) get a grid, 2-D points a
scatter, token ids their text, sequences a few plotted windows, anything else a table of rows.
The examples themselves come from `trainers.datasets.preview`.
"""
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz.images import image_grid_figure
from viz.text import plain
from viz.training import PALETTE

def preview_kind(input_shape: Sequence[int], input_dtype: str) -> str:
    """"tokens", "image", "scatter", "sequence" or "table" for a dataset's per-sample input."""
    if input_dtype == "long":
        return "tokens"
    if len(input_shape) == 3:
        return "image"
    if tuple(input_shape) == (2,):
        return "scatter"
    if len(input_shape) == 2:
        return "sequence"
    return "table"


def image_samples_figure(x, labels: Sequence[str]) -> go.Figure:
    """Example images, each captioned with its label."""
    return image_grid_figure(np.asarray(x), columns=8, captions=list(labels))


def scatter_figure(x, y, class_names: Sequence[str] | None = None, *,
                   highlight: int | None = None) -> go.Figure:
    """2-D points coloured by class; the point at index `highlight` marked with a large star."""
    points, labels = np.asarray(x, dtype=np.float32), np.asarray(y)
    figure = go.Figure()
    for index in np.unique(labels).astype(int):
        chosen = labels == index
        figure.add_trace(go.Scattergl(
            x=points[chosen, 0], y=points[chosen, 1], mode="markers",
            name=plain(_label_text(index, class_names)),
            marker={"size": 6, "color": PALETTE[index % len(PALETTE)]}))
    if highlight is not None:
        figure.add_trace(go.Scatter(x=[points[highlight, 0]], y=[points[highlight, 1]], mode="markers",
                                    name=f"test #{highlight}",
                                    marker={"size": 18, "symbol": "star", "color": "black",
                                            "line": {"width": 1.5, "color": "white"}}))
    figure.update_yaxes(scaleanchor="x")
    figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=320,
                         xaxis_title="input 1", yaxis_title="input 2")
    return figure


def sequence_figure(x, y, count: int = 3) -> go.Figure:
    """A few input windows (their first feature over time), each with its target when the
    target is one number per window (forecasting: the value that comes next)."""
    windows, targets = np.asarray(x[:count], dtype=np.float32), np.asarray(y[:count])
    figure = go.Figure()
    for index, (window, target) in enumerate(zip(windows, targets)):
        color = PALETTE[index % len(PALETTE)]
        steps = np.arange(len(window))
        figure.add_trace(go.Scatter(x=steps, y=window[:, 0], mode="lines",
                                    name=f"window {index + 1}", line={"color": color}))
        if np.size(target) == 1 and np.issubdtype(targets.dtype, np.floating):
            figure.add_trace(go.Scatter(x=[len(window)], y=[target.item()], mode="markers",
                                        marker={"color": color, "size": 9, "symbol": "star"},
                                        name=f"target {index + 1}"))
    figure.update_layout(xaxis_title="time step", margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         height=300)
    return figure


def examples_frame(examples: dict) -> pd.DataFrame:
    """Text or table examples as rows with their label: `examples` is what
    `trainers.datasets.preview` gives ("texts" or "rows", plus "labels")."""
    if "texts" in examples:
        return pd.DataFrame({"text": examples["texts"], "label": examples["labels"]})
    frame = pd.DataFrame(examples.get("rows") or np.asarray(examples["x"]).reshape(
        len(examples["labels"]), -1))
    frame["target"] = examples["labels"]
    return frame


def _label_text(label, class_names: Sequence[str] | None) -> str:
    index = int(np.asarray(label).reshape(-1)[0])
    if class_names and 0 <= index < len(class_names):
        return str(class_names[index])
    return str(index)
