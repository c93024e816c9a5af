"""A drawing pad (an `st.components.v2` component in plain JS): draw an image, get its pixels.

The browser averages the 224x224 drawing down to the model's (height, width) and sends it after
each stroke as rows of floats in [0, 1], ink = 1. The values are only ever read as numbers.
"""
from pathlib import Path

import numpy as np
import streamlit as st

_HERE = Path(__file__).parent
_pad = st.components.v2.component(
    "layerloom.draw_pad",
    js=(_HERE / "draw_pad.js").read_text(encoding="utf-8"),
    css=(_HERE / "draw_pad.css").read_text(encoding="utf-8"),
)


def _no_callback() -> None:
    """Streamlit only passes back state keys that have a change callback; the result is read."""


def draw_pad(height: int, width: int, *, key: str = "draw_pad") -> np.ndarray | None:
    """The current drawing as a float32 (height, width) array, or None before the first stroke."""
    result = _pad(key=key, data={"size": [height, width]}, height=260, on_pixels_change=_no_callback)
    return pixels_from_state(result.get("pixels"), height, width)


def pixels_from_state(state, height: int, width: int) -> np.ndarray | None:
    """Check what the browser sent (shape and range) before it reaches the model."""
    if not isinstance(state, dict) or not isinstance(state.get("rows"), list):
        return None
    try:
        pixels = np.asarray(state["rows"], dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if pixels.shape != (height, width) or not np.isfinite(pixels).all():
        return None
    return np.clip(pixels, 0.0, 1.0)
