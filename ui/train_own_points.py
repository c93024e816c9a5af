"""Points placed by hand on the Train page (TensorFlow Playground style): pick a class, click the
plane, train the playground MLP, and watch the decision boundary on Inspect.

The points live in the session (a list of [x, y, class]); whenever they change they are saved as
a small file in the session's folder, which runs load as the `points` dataset.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from trainers.datasets.points import MIN_PER_CLASS, NAME, points_file
from trainers.datasets.upload_limits import UploadLimits
from ui.kept_widgets import kept
from ui.own_data_store import remember_saved, session_bundle
from ui.point_pad import point_pad
from viz.training import PALETTE

CLASS_NAMES = ("blue", "red", "green", "purple")  # the colours previews and Inspect give them
COLORS = tuple(PALETTE[:len(CLASS_NAMES)])
BRUSHES = (1, 5, 10)
_POINTS = "train.points.list"
_REVISION = "train.points.revision"  # + 1 whenever Python replaces the list


def points_choice():
    """(dataset options, bundle) of the placed points, or None until there are enough."""
    points = st.session_state.setdefault(_POINTS, [])
    revision = st.session_state.setdefault(_REVISION, 0)
    count = st.session_state.get("train.points.classes", 2)
    classes = list(CLASS_NAMES[:int(count)])
    left, right = st.columns(2)
    active = left.segmented_control("Class to place", range(len(classes)), default=0,
                                    format_func=classes.__getitem__,
                                    key=kept("train.points.active"))
    brush = right.segmented_control("Points per click", BRUSHES, default=5,
                                    key=kept("train.points.brush"))
    sent = point_pad(points, colors=list(COLORS[:len(classes)]), active=active or 0,
                     brush=brush or 1, revision=revision,
                     max_points=UploadLimits.from_env().max_points, key="train.points.pad")
    if sent is not None and sent != points:
        st.session_state[_POINTS] = points = sent
    left, right = st.columns(2)
    left.number_input("Classes", 2, len(CLASS_NAMES), 2, key=kept("train.points.classes"))
    right.button("Clear", icon=":material/delete:", key="train.points.clear", on_click=_replace,
                 args=([],), disabled=not points)
    points = [p for p in points if p[2] < len(classes)]  # fewer classes: their points rest
    counts = np.bincount([p[2] for p in points], minlength=len(classes))
    st.caption(" · ".join(f"{name}: {n}" for name, n in zip(classes, counts)))
    if counts.min() < MIN_PER_CLASS:
        st.info(f"Click the plane to place at least {MIN_PER_CLASS} points of each class.")
        return None
    path = remember_saved("points", "your points", points_file(points, classes), ".json")
    if path is None:
        return None
    options = {"path": str(path)}
    bundle = session_bundle(NAME, options, "your points")
    return None if bundle is None else (options, bundle)


def _replace(points: list) -> None:
    st.session_state[_POINTS] = points
    st.session_state[_REVISION] = st.session_state.get(_REVISION, 0) + 1
