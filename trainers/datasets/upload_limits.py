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
