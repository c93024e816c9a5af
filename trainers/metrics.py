"""A run's metrics history, folded from the worker's events and read by pages at any time.

The worker calls `apply(event)` (through the job) and the page calls `snapshot()` once a second
from another thread, so both take one lock and the snapshot hands out plain copied lists.
"""
from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from typing import Any

# Events kept in the timeline the chart annotates (alerts, lr changes on resume, the end).
TIMELINE_KINDS = frozenset({"alert", "config_changed", "done"})
STEP_KEYS = ("step", "epoch", "loss", "lr", "samples_per_s")
EPOCH_KEYS = ("epoch", "train_loss", "val_loss", "train_metric", "val_metric", "lr")


@dataclass(frozen=True)
class MetricsSnapshot:
    """Plain data, safe to keep after the run moves on.

    steps: [{"step", "epoch", "loss", "lr", "samples_per_s"}] — train loss averaged over the steps
        since the previous point; epochs: [{"epoch", "train_loss", "val_loss", "train_metric",
        "val_metric", "lr"}]; grad_norms: one {node_id: norm} per epoch, aligned with `epochs`;
        events: alerts, config changes and the final "done" in arrival order.
    """
    steps: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    grad_norms: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    metric_name: str | None = None
    samples: Any = None
    result: dict | None = None

    @property
    def alerts(self) -> list[dict]:
        return [e for e in self.events if e["kind"] == "alert"]

    @property
    def last_step(self) -> dict | None:
        return self.steps[-1] if self.steps else None


class MetricsHistory:
    """Thread-safe accumulation of one run's events."""

    def __init__(self):
        self._lock = threading.Lock()
        self._steps: list[dict] = []
        self._epochs: list[dict] = []
        self._grad_norms: list[dict] = []
        self._events: list[dict] = []
        self._metric_name: str | None = None
        self._samples: Any = None
        self._result: dict | None = None

    def apply(self, event: dict) -> None:
        """Fold one worker event in; kinds the history does not track (weights) are ignored."""
        kind = event.get("kind")
        with self._lock:
            if kind == "step":
                self._steps.append({k: event.get(k) for k in STEP_KEYS})
            elif kind == "epoch":
                self._epochs.append({k: event.get(k) for k in EPOCH_KEYS})
                self._grad_norms.append(dict(event.get("grad_norms") or {}))
                self._metric_name = event.get("metric", self._metric_name)
            elif kind == "samples":
                self._samples = event["images"]
            if kind in TIMELINE_KINDS:
                self._events.append(dict(event))
            if kind == "done":
                self._result = dict(event.get("result") or {})

    def snapshot(self) -> MetricsSnapshot:
        with self._lock:
            return MetricsSnapshot(steps=list(self._steps), epochs=list(self._epochs),
                                   grad_norms=list(self._grad_norms), events=list(self._events),
                                   metric_name=self._metric_name, samples=self._samples,
                                   result=self._result)

    def to_csv(self) -> str:
        """One row per epoch: losses, the task's metric (named), lr and each node's gradient norm."""
        snap = self.snapshot()
        metric = snap.metric_name or "metric"
        nodes = sorted({node for norms in snap.grad_norms for node in norms})
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["epoch", "train_loss", "val_loss", f"train_{metric}", f"val_{metric}", "lr"]
                        + [f"grad_norm_{node}" for node in nodes])
        for row, norms in zip(snap.epochs, snap.grad_norms):
            writer.writerow([_cell(row[k]) for k in EPOCH_KEYS] + [_cell(norms.get(n)) for n in nodes])
        return out.getvalue()


def _cell(value) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)
