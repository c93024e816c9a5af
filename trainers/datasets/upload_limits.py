"""Limits on what people's own data may make the server decode, read from the environment.

The size of the uploaded file itself is `trainers.limits.Limits.max_upload_mb`; these bound what
unpacking and decoding it may cost, each checked before the memory is allocated:

| field             | variable                       | default | meaning                              |
| ----------------- | ------------------------------ | ------- | ------------------------------------ |
| max_unpacked_mb   | LAYERLOOM_MAX_UNPACKED_MB      | 100     | all files in one zip, unpacked       |
| max_file_mb       | LAYERLOOM_MAX_IMAGE_FILE_MB    | 10      | one image file, unpacked             |
| max_images        | LAYERLOOM_MAX_IMAGES           | 3000    | images in one dataset                |
| max_image_pixels  | LAYERLOOM_MAX_IMAGE_PIXELS     | 16M     | width x height of one image          |
| max_dataset_mb    | LAYERLOOM_MAX_DATASET_MB       | 256     | the decoded tensors of one dataset   |
| max_text_rows     | LAYERLOOM_MAX_TEXT_ROWS        | 20000   | rows of one text CSV                 |
| max_points        | LAYERLOOM_MAX_POINTS           | 2000    | points placed by hand                |
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from trainers.datasets.errors import DatasetError

MB = 1024 * 1024
_ENV = {"max_unpacked_mb": "LAYERLOOM_MAX_UNPACKED_MB", "max_file_mb": "LAYERLOOM_MAX_IMAGE_FILE_MB",
        "max_images": "LAYERLOOM_MAX_IMAGES", "max_image_pixels": "LAYERLOOM_MAX_IMAGE_PIXELS",
        "max_dataset_mb": "LAYERLOOM_MAX_DATASET_MB", "max_text_rows": "LAYERLOOM_MAX_TEXT_ROWS",
        "max_points": "LAYERLOOM_MAX_POINTS"}


@dataclass(frozen=True)
class UploadLimits:
    max_unpacked_mb: int = 100
    max_file_mb: int = 10
    max_images: int = 3000
    max_image_pixels: int = 4096 * 4096
    max_dataset_mb: int = 256
    max_text_rows: int = 20_000
    max_points: int = 2000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> UploadLimits:
        """Every variable that is set; a bad value is a DatasetError naming the variable."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = (env.get(_ENV[f.name]) or "").strip()
            if not raw:
                continue
            try:
                values[f.name] = int(raw)
            except ValueError:
                values[f.name] = 0
            if values[f.name] < 1:
                raise DatasetError(f"{_ENV[f.name]} must be a whole number >= 1, got {raw!r}")
        return cls(**values)

    @staticmethod
    def variable(field_name: str) -> str:
        """The environment variable that sets a field, for messages."""
        return _ENV[field_name]


def read_upload(data: bytes | str | Path, max_bytes: int | None = None) -> bytes:
    """The upload's bytes (given, or read from the path it was saved at), at most `max_bytes`
    (default: the server's upload limit, LAYERLOOM_MAX_UPLOAD_MB); a huge file is refused by its
    size before it is read."""
    if max_bytes is None:
        from trainers.limits import Limits  # the server-wide limits own the upload size
        max_bytes = Limits.from_env().max_upload_mb * MB
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise DatasetError(f"There is no file at {path}.", option="path")
        _check_size(path.stat().st_size, max_bytes)
        data = path.read_bytes()
    _check_size(len(data), max_bytes)
    return data


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DatasetError(f"The file is {size / MB:,.1f} MB; the limit is {max_bytes / MB:,.1f} MB "
                           "(LAYERLOOM_MAX_UPLOAD_MB).")
