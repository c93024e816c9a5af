"""Figures for one example and what the model made of it, by kind of input: sequences over time,
rows of features, and regression targets.

Pure functions from arrays to plotly figures, like `viz.inspect`.
"""
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.text import plain
from viz.training import PALETTE

MAX_LINES = 4  # a sequence with more features than this is drawn as a heatmap, not as lines
MARGIN = {"l": 10, "r": 10, "t": 50, "b": 10}
LEGEND_BELOW = {"orientation": "h", "y": -0.3, "yanchor": "top"}  # under the x-axis title


def sequence_figure(steps, *, title: str, value_title: str = "value",
                    feature_names: Sequence[str] | None = None, colorscale: str = "RdBu_r") -> go.Figure:
    """A (T, F) sequence over time: a line per feature when there are few, else a time x feature
    heatmap (20 steps of 100 features read as a picture, not as a table of numbers)."""
    steps = np.asarray(steps, dtype=np.float32)  # (T, F)
    time = np.arange(1, len(steps) + 1)
    count = steps.shape[1]
    names = [plain(n) for n in feature_names] if feature_names else [f"feature {i}" for i in range(count)]
    if count <= MAX_LINES:
        figure = go.Figure([go.Scatter(x=time, y=steps[:, i], mode="lines+markers", name=names[i],
                                       line={"color": PALETTE[i % len(PALETTE)]}) for i in range(count)])
        figure.update_layout(yaxis_title=value_title, showlegend=count > 1)
    else:
        middle = 0.0 if colorscale == "RdBu_r" else None
        figure = go.Figure(go.Heatmap(z=steps.T, x=time, colorscale=colorscale, zmid=middle,
                                      colorbar={"title": {"text": value_title}},
                                      hovertemplate="step %{x}<br>feature %{y}<br>%{z:.3f}<extra></extra>"))
        figure.update_layout(yaxis_title="feature")
    figure.update_layout(title=plain(title), xaxis_title="time step", height=320, margin=MARGIN)
    return figure


def forecast_figure(window, predicted: float, actual: float, *, title: str) -> go.Figure:
    """A window of past values (T, F; the first feature drawn) with the forecast and the true next value."""
    window = np.asarray(window, dtype=np.float32)
    after = len(window) + 1
    figure = go.Figure([
        go.Scatter(x=np.arange(1, after), y=window[:, 0], mode="lines+markers", name="input window",
                   line={"color": PALETTE[0]}),
        go.Scatter(x=[after], y=[actual], mode="markers", name="true next value",
                   marker={"color": PALETTE[2], "size": 13, "symbol": "circle"}),
        go.Scatter(x=[after], y=[predicted], mode="markers", name="predicted",
                   marker={"color": PALETTE[1], "size": 13, "symbol": "x"}),
    ])
    figure.update_layout(title=plain(title), xaxis_title="time step", yaxis_title="value", height=340,
                         margin=MARGIN, legend=LEGEND_BELOW)
    return figure


def feature_bars_figure(values, names: Sequence[str] | None, *, title: str,
                        value_title: str = "value") -> go.Figure:
    """One horizontal bar per feature of a tabular row (or of its attribution)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    labels = [plain(n) for n in names] if names else [f"feature {i}" for i in range(len(values))]
    colors = [PALETTE[0] if v >= 0 else PALETTE[3] for v in values]
    figure = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=colors))
    figure.update_layout(title=plain(title), xaxis_title=value_title, yaxis_title="feature",
                         yaxis={"autorange": "reversed"}, margin=MARGIN,
                         height=min(120 + 24 * len(values), 600))
    return figure


def predicted_vs_actual_figure(predicted, actual, *, highlight: int | None = None,
                               title: str = "Predicted vs actual on the test split") -> go.Figure:
    """A dot per test example; on the diagonal the prediction is exact."""
    predicted = np.asarray(predicted, dtype=np.float32).ravel()
    actual = np.asarray(actual, dtype=np.float32).ravel()
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    figure = go.Figure([
        go.Scattergl(x=actual, y=predicted, mode="markers", name="test examples",
                     marker={"color": PALETTE[0], "size": 5, "opacity": 0.6}),
        go.Scatter(x=[low, high], y=[low, high], mode="lines", name="exact",
                   line={"color": "gray", "dash": "dash"}),
    ])
    if highlight is not None:
        figure.add_trace(go.Scatter(x=[actual[highlight]], y=[predicted[highlight]], mode="markers",
                                    name=f"test #{highlight}",
                                    marker={"color": PALETTE[1], "size": 13, "symbol": "x"}))
    figure.update_layout(title=plain(title), xaxis_title="actual", yaxis_title="predicted",
                         height=360, margin=MARGIN, legend=LEGEND_BELOW)
    return figure
