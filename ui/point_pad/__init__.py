"""A plane to place 2-D points by clicking (an `st.components.v2` component in plain JS).

Python keeps the points (a list of [x, y, class]); the browser adds a click's points to the list
it was given and sends the whole list back with the `revision` it was drawn from, so a list
cleared or replaced by Python is never overwritten by an older one. The values are only ever
read as numbers and checked before use.
"""
import math
from pathlib import Path

import streamlit as st

_HERE = Path(__file__).parent
_pad = st.components.v2.component(
    "layerloom.point_pad",
    js=(_HERE / "point_pad.js").read_text(encoding="utf-8"),
    css=(_HERE / "point_pad.css").read_text(encoding="utf-8"),
)


def _no_callback() -> None:
    """Streamlit only passes back state keys that have a change callback; the result is read."""


def point_pad(points: list, *, colors: list[str], active: int, brush: int, revision: int,
              max_points: int, key: str = "point_pad") -> list | None:
    """The points after the person's clicks, or None when the browser sent nothing new."""
    result = _pad(key=key, height=310, on_points_change=_no_callback,
                  data={"points": points, "colors": colors, "active": active, "brush": brush,
                        "revision": revision})
    return points_from_state(result.get("points"), revision, len(colors), max_points)


def points_from_state(state, revision: int, n_classes: int, max_points: int) -> list | None:
    """The browser's list when it is for this revision and every point is [x, y, class] with
    x, y in [-1, 1]; None otherwise."""
    if not isinstance(state, dict) or state.get("revision") != revision:
        return None
    points = state.get("points")
    if not isinstance(points, list) or len(points) > max_points:
        return None
    checked = []
    for point in points:
        if not (isinstance(point, list) and len(point) == 3):
            return None
        x, y, label = point
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and abs(v) <= 1 for v in (x, y)):
            return None
        if isinstance(label, bool) or not (isinstance(label, int) and 0 <= label < n_classes):
            return None
        checked.append([float(x), float(y), label])
    return checked
