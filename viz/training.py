"""Training figures: loss and metric curves (one run or several overlaid), decision boundaries
for 2-D data, and sample/reconstruction grids for generative models.

The live chart is rebuilt about once a second while a run trains, so every trace is downsampled
to at most `MAX_POINTS` points (a figure of 2,000 points cost ~60 ms to build and serialise, one
of 300 a few ms) and every figure carries a `uirevision`, so a zoom survives the refresh.
"""
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from viz.images import TYPICAL_WIDTH_PX, image_grid_figure
from viz.text import plain

MAX_POINTS = 300
MARKED_EPOCHS = 40  # up to this many epochs, each per-epoch value gets a visible marker
SMOOTHING = 0.6  # weight of the running average of per-step losses, as in TensorBoard
PALETTE = qualitative.Plotly


@dataclass(frozen=True)
class RunCurves:
    """One run's curves as plain numbers. x positions are in epochs: a step halfway through the
    second epoch sits at 1.5, the validation point after epoch 2 at 2.0."""
    name: str
    step_x: Sequence[float] = ()
    step_loss: Sequence[float] = ()
    epoch_x: Sequence[float] = ()
    val_loss: Sequence[float | None] = ()
    train_metric: Sequence[float | None] = ()
    val_metric: Sequence[float | None] = ()
    metric_name: str | None = None  # e.g. "accuracy"; None where the task has no extra metric
    changes: Sequence[tuple[float, str]] = ()  # (x, "lr 0.1 → 0.01") markers


def run_curves(name: str, snapshot, steps_per_epoch: float, start_epoch: float = 0.0) -> RunCurves:
    """A run's curves from a `trainers.metrics.MetricsSnapshot` (read by attribute, so this
    package needs nothing from trainers). The n-th finished epoch sits at x = start_epoch + n:
    a run forked from another's weights after 12 epochs goes on from x = 12."""
    per_epoch = max(float(steps_per_epoch), 1.0)
    epochs = snapshot.epochs
    changes = [(start_epoch + event["step"] / per_epoch, change_label(event.get("changes") or {}))
               for event in snapshot.events if event.get("kind") == "config_changed"]
    return RunCurves(
        name=name,
        step_x=[start_epoch + row["step"] / per_epoch for row in snapshot.steps],
        step_loss=[row["loss"] for row in snapshot.steps],
        epoch_x=[start_epoch + n for n in range(1, len(epochs) + 1)],
        val_loss=[row.get("val_loss") for row in epochs],
        train_metric=[row.get("train_metric") for row in epochs],
        val_metric=[row.get("val_metric") for row in epochs],
        metric_name=snapshot.metric_name, changes=changes)


def change_label(changes: dict) -> str:
    """{"lr": 0.01, "momentum": 0.5} -> "lr → 0.01, momentum → 0.5"."""
    return ", ".join(f"{name} → {value:g}" if isinstance(value, float) else f"{name} → {value}"
                     for name, value in changes.items())


def smooth(values: Sequence[float], weight: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average, debiased so the first points are not pulled towards zero."""
    values = np.asarray(values, dtype=np.float64)
    smoothed = np.empty_like(values)
    average, correction = 0.0, 1.0
    for index, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        correction *= weight
        smoothed[index] = average / (1 - correction)
    return smoothed


def downsample(x: Sequence[float], y: Sequence[float],
               max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points: consecutive points are averaged in equal buckets, which keeps
    the curve's shape (a stride would alias noise) and always keeps the newest region."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) <= max_points:
        return x, y
    buckets = np.array_split(np.arange(len(x)), max_points)
    return (np.array([x[b].mean() for b in buckets]), np.array([y[b].mean() for b in buckets]))


def loss_figure(runs: Sequence[RunCurves], *, uirevision: str = "loss") -> go.Figure:
    """Training loss per step (smoothed) and validation loss per epoch, for one or more runs."""
    figure = _curve_figure("Loss", "loss", uirevision)
    for color, run in zip(_colors(len(runs)), runs):
        prefix = f"{plain(run.name)} · " if len(runs) > 1 else ""
        if len(run.step_loss):
            x, y = downsample(run.step_x, smooth(run.step_loss))
            figure.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{prefix}train",
                                        line={"color": color, "width": 2}))
        _add_epoch_trace(figure, run.epoch_x, run.val_loss, f"{prefix}validation", color)
        _add_change_markers(figure, run.changes, color)
    return figure


def metric_figure(runs: Sequence[RunCurves], *, uirevision: str = "metric") -> go.Figure:
    """The task's metric (accuracy, R²) per epoch on training and validation data."""
    metric = next((run.metric_name for run in runs if run.metric_name), "metric")
    figure = _curve_figure(metric.capitalize(), metric, uirevision)
    for color, run in zip(_colors(len(runs)), runs):
        prefix = f"{plain(run.name)} · " if len(runs) > 1 else ""
        _add_epoch_trace(figure, run.epoch_x, run.train_metric, f"{prefix}train", color,
                         dash="solid")
        _add_epoch_trace(figure, run.epoch_x, run.val_metric, f"{prefix}validation", color)
        _add_change_markers(figure, run.changes, color)
    return figure


def decision_boundary_figure(points, labels, predict: Callable[[np.ndarray], np.ndarray], *,
                             class_names: Sequence[str] | None = None, resolution: int = 60,
                             uirevision: str = "boundary") -> go.Figure:
    """The model's predicted class over the plane, with the data on top.

    `predict` maps an (N, 2) float32 array to N class indices; the caller owns the model (this
    package stays free of torch), so it can run it without gradients on a snapshot of weights.
    """
    points, labels = np.asarray(points, dtype=np.float32), np.asarray(labels)
    grid_x, grid_y = _grid_axes(points, resolution)
    mesh = np.stack(np.meshgrid(grid_x, grid_y), axis=-1).reshape(-1, 2).astype(np.float32)
    predicted = np.asarray(predict(mesh)).reshape(resolution, resolution)
    classes = int(max(labels.max(initial=0), predicted.max(initial=0))) + 1
    colors = _colors(classes)
    figure = go.Figure(go.Heatmap(
        x=grid_x, y=grid_y, z=predicted, zmin=-0.5, zmax=classes - 0.5, opacity=0.35,
        colorscale=_discrete_colorscale(colors), showscale=False, hoverinfo="skip"))
    for index in range(classes):
        chosen = labels == index
        name = class_names[index] if class_names and index < len(class_names) else index
        figure.add_trace(go.Scattergl(
            x=points[chosen, 0], y=points[chosen, 1], mode="markers", name=plain(name),
            marker={"color": colors[index], "size": 6, "line": {"width": 0.5, "color": "white"}}))
    # Equal units on both axes; the plot area shrinks to the data rather than padding an axis,
    # and the legend sits below, so the plane keeps its width in a narrow column.
    figure.update_xaxes(constrain="domain")
    figure.update_yaxes(scaleanchor="x", constrain="domain")
    figure.update_layout(title="Decision boundary", uirevision=uirevision,
                         xaxis_title="input 1", yaxis_title="input 2", legend_title_text="class",
                         margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         legend={"orientation": "h", "y": -0.2})
    return figure


def samples_figure(images, *, title: str = "Generated samples", width_px: int = TYPICAL_WIDTH_PX) -> go.Figure:
    """Images a generator or decoder produced (N, C, H, W) in [0, 1]."""
    return image_grid_figure(images, columns=8, title=title, uirevision="samples", width_px=width_px)


def reconstruction_figure(originals, reconstructions, *, width_px: int = TYPICAL_WIDTH_PX) -> go.Figure:
    """Inputs (top row) above the model's reconstructions of them (bottom row)."""
    originals, reconstructions = np.asarray(originals), np.asarray(reconstructions)
    return image_grid_figure(np.concatenate([originals, reconstructions]),
                             columns=len(originals), uirevision="reconstructions", width_px=width_px,
                             title="Top: inputs · bottom: reconstructions")


def _curve_figure(title: str, y_title: str, uirevision: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, xaxis_title="epoch", yaxis_title=y_title,
                         uirevision=uirevision, hovermode="x unified", height=360,
                         margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         legend={"orientation": "h", "y": -0.2})
    return figure


def _add_epoch_trace(figure: go.Figure, epoch_x, values, name: str, color: str,
                     dash: str = "dot") -> None:
    """Per-epoch values as markers joined by a line; epochs without a value are left out."""
    kept = [(x, v) for x, v in zip(epoch_x, values) if v is not None and np.isfinite(v)]
    if kept:
        x, y = zip(*kept)
        mode = "lines+markers" if len(kept) <= MARKED_EPOCHS else "lines"  # markers would blur
        figure.add_trace(go.Scatter(x=x, y=y, mode=mode, name=name,
                                    line={"color": color, "dash": dash}, marker={"size": 7}))


def _add_change_markers(figure: go.Figure, changes, color: str) -> None:
    """A dotted vertical line where settings changed mid-run, labelled with what changed."""
    for x, label in changes:
        figure.add_vline(x=x, line={"color": color, "dash": "dot", "width": 1},
                         annotation_text=plain(label), annotation_position="top left")


def _grid_axes(points: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced x and y positions covering the data with a 10% margin on every side."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = (high - low) * 0.1 + 1e-6
    low, high = low - margin, high + margin
    return (np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))


def _discrete_colorscale(colors: Sequence[str]) -> list[list]:
    """A colorscale mapping integer class k (on a zmin=-0.5..zmax=K-0.5 scale) to colors[k]."""
    scale = []
    for index, color in enumerate(colors):
        scale += [[index / len(colors), color], [(index + 1) / len(colors), color]]
    return scale


def _colors(count: int) -> list[str]:
    """One color per run, reusing the palette when there are more runs than colors."""
    return [PALETTE[index % len(PALETTE)] for index in range(count)]
