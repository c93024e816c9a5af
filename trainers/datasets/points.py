"""Points placed by hand on a plane (as in TensorFlow Playground), saved as a small JSON file:

    {"classes": ["orange", "blue"], "points": [[x, y, class index], ...]}   x, y in [-1, 1]

Only numbers are read from it. Input: [2] float (the plane's coordinates, not standardised, so
the decision boundary is drawn on the plane the points were placed on).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from trainers.datasets.bundle import DatasetBundle, DatasetInfo, Samples, build_bundle
from trainers.datasets.errors import DatasetError
from trainers.datasets.upload_limits import UploadLimits, read_upload

NAME = "points"
EXTENT = 1.0  # the plane runs from -EXTENT to EXTENT on both axes
MIN_PER_CLASS = 5  # enough for one validation and one test point per class
MAX_CLASSES = 6
OPTIONS = ()


def points_file(points: list, classes: list[str]) -> bytes:
    """The JSON file for these points ([x, y, class index] each) and class names."""
    return json.dumps({"classes": list(classes), "points": [list(p) for p in points]}).encode()


def load_points(data: bytes | str | Path, *, seed: int = 0,
                limits: UploadLimits | None = None) -> DatasetBundle:
    limits = limits or UploadLimits.from_env()
    classes, points = _parse(read_upload(data, 1 << 20), limits)
    x = np.array([p[:2] for p in points], dtype=np.float32)  # [N, 2]
    y = np.array([p[2] for p in points], dtype=np.int64)
    counts = np.bincount(y, minlength=len(classes))
    short = [f"'{name}' has {count}" for name, count in zip(classes, counts) if count < MIN_PER_CLASS]
    if short:
        raise DatasetError(f"Place at least {MIN_PER_CLASS} points of each class ({', '.join(short)}).")
    info = DatasetInfo(NAME, "Your points", "classification", (2,), "float", len(classes), (),
                       f"{len(y)} points placed by hand in {len(classes)} classes.")
    return build_bundle(info, Samples(x, y, class_names=list(classes)), seed=seed)


def _parse(data: bytes, limits: UploadLimits) -> tuple[list[str], list]:
    try:
        content = json.loads(data)
        classes, points = content["classes"], content["points"]
    except (ValueError, TypeError, KeyError):
        raise DatasetError("The points file is not {\"classes\": [...], \"points\": [...]} "
                           "JSON.") from None
    if not isinstance(classes, list) or not 2 <= len(classes) <= MAX_CLASSES or not all(
            isinstance(name, str) and name.strip() for name in classes):
        raise DatasetError(f"The points need 2 to {MAX_CLASSES} named classes.")
    if not isinstance(points, list) or len(points) > limits.max_points:
        raise DatasetError(f"At most {limits.max_points:,} points "
                           f"({UploadLimits.variable('max_points')}).")
    for index, point in enumerate(points):
        if not _valid_point(point, len(classes)):
            raise DatasetError(f"Point {index + 1} ({point!r:.60}) is not [x, y, class] with x and y "
                               f"in [-{EXTENT:g}, {EXTENT:g}] and a class from 0 to "
                               f"{len(classes) - 1}.")
    return classes, points


def _valid_point(point, n_classes: int) -> bool:
    if not isinstance(point, list) or len(point) != 3:
        return False
    x, y, label = point
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                  and abs(v) <= EXTENT for v in (x, y))
    return numbers and isinstance(label, int) and not isinstance(label, bool) and 0 <= label < n_classes
