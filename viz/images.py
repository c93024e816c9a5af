"""Image grids as one plotly trace: many small images tiled into a single mosaic.

One heatmap (grayscale) or image (RGB) trace costs a few milliseconds however many tiles it
holds, where a subplot per image costs tens; that matters for grids refreshed while training.
"""
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.text import plain

GAP = 1  # pixels of background between tiles
CAPTION_PX = 18  # screen pixels above each row of captioned tiles
TYPICAL_WIDTH_PX = 420  # a half-page column: the figure's height keeps the mosaic's aspect there
FULL_WIDTH_PX = 780  # the page's whole width (1280 px projector, centred layout)


def as_images(batch) -> np.ndarray:
    """(N, C, H, W) or (N, H, W) array-like -> float (N, H, W, C) clipped to [0, 1]."""
    images = np.asarray(batch, dtype=np.float32)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4:
        raise ValueError(f"expected images shaped (N, C, H, W), got shape {images.shape}")
    return np.clip(images.transpose(0, 2, 3, 1), 0.0, 1.0)


def tile(images: np.ndarray, columns: int, row_gap: int = GAP) -> np.ndarray:
    """Tile (N, H, W, C) images row by row into one 2-D mosaic with C channels.

    Empty cells and the gaps between tiles are NaN, so they show as background, not as black.
    `row_gap` leaves room above each row for captions.
    """
    count, height, width, channels = images.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    mosaic = np.full((rows * (height + row_gap), columns * (width + GAP) - GAP, channels),
                     np.nan, dtype=np.float32)
    for index, image in enumerate(images):
        top, left = tile_origin(index, columns, height + row_gap, width + GAP)
        mosaic[top + row_gap:top + row_gap + height, left:left + width] = image
    return mosaic


def tile_origin(index: int, columns: int, cell_height: int, cell_width: int) -> tuple[int, int]:
    """Top-left pixel of cell `index` in a row-major grid of `columns` columns."""
    return (index // columns) * cell_height, (index % columns) * cell_width


def image_grid_figure(batch, *, columns: int = 8, captions: Sequence[str] | None = None,
                      title: str | None = None, uirevision: str | None = None,
                      keep_columns: bool = False, width_px: int = TYPICAL_WIDTH_PX) -> go.Figure:
    """A grid of images (grayscale or RGB, values in [0, 1]), optionally captioned per tile.

    `keep_columns`: a grid of fewer images than `columns` keeps its tile size (empty cells fill
    the row) instead of stretching one image across the figure. `width_px`: about how wide the
    figure is drawn; its height keeps the mosaic's aspect at that width."""
    images = as_images(batch)
    if keep_columns and len(images) < columns:
        blank = np.full((columns - len(images), *images.shape[1:]), np.nan, dtype=np.float32)
        images = np.concatenate([images, blank])
    count, height, width, channels = images.shape
    shown_columns = max(1, min(columns, count))
    pixel_px = width_px / (shown_columns * (width + GAP) - GAP)  # screen px per image pixel
    row_gap = max(GAP, math.ceil(CAPTION_PX / pixel_px)) if captions else GAP  # room for a caption
    mosaic = tile(images, columns, row_gap)
    if channels == 1:
        trace = go.Heatmap(z=mosaic[..., 0], colorscale="gray", zmin=0, zmax=1,
                           showscale=False, hoverinfo="skip")
    else:
        trace = go.Image(z=np.nan_to_num(mosaic[..., :3] * 255).astype(np.uint8),
                         hoverinfo="skip")
    figure = go.Figure(trace)
    columns = shown_columns
    for index, caption in enumerate(captions or ()):
        top, left = tile_origin(index, columns, height + row_gap, width + GAP)
        figure.add_annotation(x=left + width / 2, y=top + row_gap - 0.5, text=plain(caption),
                              showarrow=False, yanchor="bottom", font={"size": 11})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    top_margin = 40 if title else 10
    # Without a height, plotly draws 450 px and the square-pixel mosaic floats in blank space.
    height = top_margin + 10 + round(width_px * mosaic.shape[0] / mosaic.shape[1])
    figure.update_layout(title=plain(title) if title else None, plot_bgcolor="rgba(0,0,0,0)",
                         margin={"l": 10, "r": 10, "t": top_margin, "b": 10}, height=height,
                         uirevision=uirevision)
    return figure
