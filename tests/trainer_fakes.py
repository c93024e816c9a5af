"""Small data and controls for the trainers tests (no dataset catalog, no builder needed)."""
from __future__ import annotations

from types import SimpleNamespace

import torch


def blobs_bundle(n: int = 600, features: int = 8, classes: int = 3, seed: int = 0):
    """A linearly separable classification set, split 60/20/20, shaped like a DatasetBundle."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=gen)
    y = (x @ torch.randn(features, classes, generator=gen)).argmax(1)
    return split_bundle(x, y)


def regression_bundle(n: int = 600, features: int = 4, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=gen)
    y = x @ torch.randn(features, 1, generator=gen) + 0.05 * torch.randn(n, 1, generator=gen)
    return split_bundle(x, y)


def image_bundle(n: int = 120, size: int = 8, seed: int = 0):
    """Images in [0, 1] ([N, 1, size, size]) with dummy labels, for autoencoders and GANs."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size, size, generator=gen)
    return split_bundle(x, torch.zeros(n, dtype=torch.long))


def split_bundle(x: torch.Tensor, y: torch.Tensor):
    a, b = int(len(x) * 0.6), int(len(x) * 0.8)
    return SimpleNamespace(x_train=x[:a], y_train=y[:a], x_val=x[a:b], y_val=y[a:b],
                           x_test=x[b:], y_test=y[b:])


class ScriptedControl:
    """A RunControl that stops at batch `stop_at` and returns `changes[n]` at batch n (1-based)."""

    def __init__(self, stop_at: int | None = None, changes: dict[int, dict] | None = None):
        self.stop_at, self.changes, self.batches = stop_at, changes or {}, 0

    def should_stop(self) -> bool:
        self.batches += 1
        return self.stop_at is not None and self.batches >= self.stop_at

    def checkpoint_pause(self) -> dict | None:
        return self.changes.get(self.batches)


class Recorder:
    """An `emit` that keeps every event."""

    def __init__(self):
        self.events: list[dict] = []

    def __call__(self, event: dict) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind]
