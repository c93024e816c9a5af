"""A run's decision boundary at a cost the server can bear, for the Train and Inspect pages.

Both pages rerun on a timer while a run trains (every second, every few seconds), and the
boundary is the costliest thing they draw: a grid of points through the whole model. So a page
keeps its last figure (in the session) and draws a new one only for weights it has not drawn
yet, and while the run goes on at most every `REDRAW_S` seconds (the run's final weights are
always drawn). The grid itself is as fine as the evaluation budget allows
(`trainers.eval_budget.boundary_side`), and its forward passes go through `guard`'s memory
budget and evaluation slots like every other evaluation.
"""
from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from trainers.eval_budget import boundary_side, guard
from trainers.probes import predict_proba
from viz.training import decision_boundary_figure

REDRAW_S = 5.0  # while a run trains; its weights arrive every 2 s (trainers.callbacks)


@dataclass
class _Drawn:
    job: object
    version: int  # the job's weights_version() drawn (not the weights: they would stay alive)
    at: float  # time.monotonic() when drawn
    figure: object


def boundary_figure(run, points, labels, class_names, *, key: str,
                    store: MutableMapping | None = None):
    """The boundary of the run's latest weights over `points` coloured by `labels`; None before
    the run's first weights. EvalTooLarge (with its message) for a model too costly to draw."""
    store = st.session_state if store is None else store
    if not run.job.has_weights():
        return None
    version = run.job.weights_version()
    drawn = store.get(key)
    if drawn is not None and drawn.job is run.job and (
            drawn.version == version
            or (not run.job.ended and time.monotonic() - drawn.at < REDRAW_S)):
        return drawn.figure
    model = guard(run.job.model_snapshot())
    side = boundary_side(model)

    def predict(grid: np.ndarray) -> np.ndarray:
        return predict_proba(model, torch.from_numpy(grid)).argmax(dim=1).numpy()

    figure = decision_boundary_figure(points, labels, predict, class_names=class_names,
                                      resolution=side)
    store[key] = _Drawn(run.job, version, time.monotonic(), figure)
    return figure
