"""Reading a lesson's measures from its runs, and checking its claim.

Each quantity reads one number from a finished run: its metrics history (epochs, gradient norms,
training speed), its result (test figures) or its model (parameters; what its decoder makes of
random codes, trainers.lessons.model_measures). `check_claim` says whether the claim held,
with the two numbers, so a failing lesson reads as plainly as a passing one.
"""
from __future__ import annotations

import math
import operator
import statistics
from dataclasses import dataclass
from typing import Any

from trainers.eval_budget import EvalTooLarge
from trainers.lessons.model_measures import MODEL_QUANTITIES
from trainers.metrics import MetricsSnapshot

OPS = (">=", ">", "<=", "<")


@dataclass(frozen=True)
class Measure:
    run: str
    quantity: str
    node: str | None = None       # grad_norm: whose gradient
    epoch: int | str = "last"     # an epoch number (from 1), "last" or "best"
    threshold: float | None = None  # epochs_to: the val metric to reach

    def describe(self) -> str:
        where = f" of {self.node}" if self.node else ""
        when = f" at epoch {self.epoch}" if isinstance(self.epoch, int) else ""
        reach = f" {self.threshold:g}" if self.threshold is not None else ""
        return f"{self.run}: {self.quantity.replace('_', ' ')}{reach}{where}{when}"


@dataclass(frozen=True)
class Claim:
    text: str
    left: Measure
    op: str
    right: Measure
    factor: float = 1.0


@dataclass(frozen=True)
class RunOutcome:
    """What a lesson's run left behind: its history and its model's parameter count; for the
    measures that probe the model (MODEL_QUANTITIES), the trained model (eval mode) and its data."""
    snapshot: MetricsSnapshot
    params: int
    model: Any = None  # an nn.Module
    data: Any = None  # the DatasetBundle it trained on


def _epoch_row(snap: MetricsSnapshot, measure: Measure) -> int:
    if not snap.epochs:
        raise LookupError(f"{measure.run} trained no epoch")
    if measure.epoch == "last":
        return len(snap.epochs) - 1
    if measure.epoch == "best":
        losses = [row["val_loss"] for row in snap.epochs]
        return min(range(len(losses)), key=lambda i: losses[i])
    if not 1 <= int(measure.epoch) <= len(snap.epochs):
        raise LookupError(f"{measure.run} has no epoch {measure.epoch} (it ran {len(snap.epochs)})")
    return int(measure.epoch) - 1


def _from_epoch(key):
    return lambda outcome, m: outcome.snapshot.epochs[_epoch_row(outcome.snapshot, m)][key]


def _gap(outcome, m):
    row = outcome.snapshot.epochs[_epoch_row(outcome.snapshot, m)]
    return row["train_metric"] - row["val_metric"]


def _loss_gap(outcome, m):
    row = outcome.snapshot.epochs[_epoch_row(outcome.snapshot, m)]
    return row["val_loss"] - row["train_loss"]


def _grad_norm(outcome, m):
    norms = outcome.snapshot.grad_norms[_epoch_row(outcome.snapshot, m)]
    if m.node not in norms:
        raise LookupError(f"{m.run} recorded no gradient for node '{m.node}'")
    return norms[m.node]


def _epochs_to(outcome, m):
    """The first epoch whose validation metric reaches the threshold (infinity if none did)."""
    for row in outcome.snapshot.epochs:
        if row["val_metric"] is not None and row["val_metric"] >= m.threshold:
            return row["epoch"]
    return math.inf


def _samples_per_s(outcome, m):
    """Training speed: the median over the run's metrics points (the first, which pays for
    warming up, e.g. a GPU's kernel selection, is left out when there are others)."""
    speeds = [row["samples_per_s"] for row in outcome.snapshot.steps if row.get("samples_per_s")]
    if not speeds:
        raise LookupError(f"{m.run} recorded no training speed")
    return statistics.median(speeds[1:] or speeds)


def _on_model(measure_model):
    def read(outcome, m):
        if outcome.model is None or outcome.data is None:
            raise LookupError(f"{m.run}'s model is not at hand to measure")
        try:
            return measure_model(outcome.model, outcome.data)
        except (ValueError, EvalTooLarge) as error:  # no latent code; a model too large to probe
            raise LookupError(f"{m.run}: {error}") from None
    return read


def _from_result(key):
    return lambda outcome, m: (outcome.snapshot.result or {})[key]


QUANTITIES = {
    "train_loss": _from_epoch("train_loss"), "val_loss": _from_epoch("val_loss"),
    "train_metric": _from_epoch("train_metric"), "val_metric": _from_epoch("val_metric"),
    "gap": _gap,            # train metric minus validation metric (how far training runs ahead)
    "loss_gap": _loss_gap,  # validation loss minus training loss
    "grad_norm": _grad_norm,
    "epochs_to": _epochs_to,
    "epochs_run": lambda outcome, m: len(outcome.snapshot.epochs),
    "test_loss": _from_result("test_loss"), "test_metric": _from_result("test_metric"),
    "params": lambda outcome, m: outcome.params,
    "samples_per_s": _samples_per_s,
    **{name: _on_model(measure) for name, measure in MODEL_QUANTITIES.items()},
}


def needs_model(claims) -> bool:
    """Whether checking these claims probes the runs' models (so their weights and data are due)."""
    return any(measure.quantity in MODEL_QUANTITIES
               for claim in claims for measure in (claim.left, claim.right))


def measure_value(measure: Measure, outcomes: dict[str, RunOutcome]) -> float:
    value = QUANTITIES[measure.quantity](outcomes[measure.run], measure)
    if value is None:
        raise LookupError(f"{measure.describe()} was not recorded")
    return float(value)


@dataclass(frozen=True)
class ClaimCheck:
    holds: bool
    left: float
    right: float
    message: str


def check_claim(claim: Claim, outcomes: dict[str, RunOutcome]) -> ClaimCheck:
    """Whether `left op factor * right` held on these runs, and a sentence with the numbers."""
    try:
        left, right = measure_value(claim.left, outcomes), measure_value(claim.right, outcomes)
    except (LookupError, KeyError) as error:
        return ClaimCheck(False, math.nan, math.nan, f"could not be checked: {error}")
    compare = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}[claim.op]
    holds = bool(compare(left, claim.factor * right))
    scaled = f"{claim.factor:g} × " if claim.factor != 1 else ""
    verdict = "holds" if holds else "does not hold"
    return ClaimCheck(holds, left, right,
                      f"{verdict}: {claim.left.describe()} = {left:.4g} {claim.op} "
                      f"{scaled}{claim.right.describe()} = {scaled}{right:.4g}")
