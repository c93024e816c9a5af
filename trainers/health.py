"""Training-health alerts in plain language: what went wrong, and what to try.

`HealthMonitor` is a callback that looks at each finished epoch (losses, per-node gradient
norms from GradNormRecorder, and one probe batch through the ReLUs) and raises each alert once.
It stops the run only where going on is pointless: every unit of a ReLU layer dead, or a loss
that has not moved at all. A NaN/inf loss is caught by the loop itself (it has to restore
weights) but its words live here with the others.
"""
from __future__ import annotations

import time

import torch
from torch import nn

from trainers.callbacks import Callback
from trainers.optim import named_parts

EXPLODING_NORM = 1e3  # a healthy layer's gradient norm is rarely above ~10
VANISHING_RATIO = 1e-5  # a layer getting 100,000x less gradient than the busiest one
DEAD_SHARE = 0.5  # alert when more than half of a ReLU layer's units never switch on
PLATEAU_EPOCHS = 4  # epochs before judging that the loss is not falling
PLATEAU_GAIN = 0.01  # "not falling": less than 1% below the first epoch's loss
OVERFIT_EPOCHS = 3  # validation loss rising this many epochs in a row while training loss falls
OVERFIT_GAP = 0.1  # ... and training ahead: its loss at least 10% below the validation loss
SCORES = frozenset({"accuracy", "r2"})  # metrics where higher is better and 1 is perfect
UNDERFIT_EPOCHS = 5  # epochs (more than UNDERFIT_WINDOW) before judging a stall below a good score
UNDERFIT_SCORE = 0.8  # "low": training and validation score both below this
UNDERFIT_WINDOW = 3  # "flat": the training loss fell less than UNDERFIT_GAIN over these epochs
UNDERFIT_GAIN = 0.02
PROBE_SAMPLES = 64
PROBE_BUDGET = 0.02  # the dead-ReLU probe may take at most this share of the training time

ALERTS: dict[str, tuple[str, str]] = {  # code: (message template, advice)
    "nan_loss": ("The loss became {value} at step {step}: the weights blew up, so the run stopped "
                 "and kept the last good weights.",
                 "Lower the learning rate (try 10x smaller), turn on gradient clipping (e.g. 1.0), "
                 "or add BatchNorm."),
    "loss_flat": ("The training loss has hardly moved in {epochs} epochs ({first:.4g} -> {last:.4g}).",
                  "Try a larger learning rate or Adam, fewer Sigmoid/Tanh layers, and check that "
                  "the last layer's size and activation fit the task."),
    "loss_stuck": ("The training loss has not changed at all in {epochs} epochs ({last:.4g}): the "
                   "network is not learning, so the run stopped.",
                   "Check the learning rate, look for dead ReLUs, and make sure the loss depends "
                   "on the weights (no layer cuts the gradient)."),
    "exploding_gradients": ("Gradients are exploding at {node} (norm {norm:.3g}).",
                            "Lower the learning rate, turn on gradient clipping (e.g. 1.0), or add "
                            "BatchNorm/LayerNorm."),
    "vanishing_gradients": ("Gradients are vanishing at {node} (norm {norm:.2g}, far below "
                            "{busiest}'s {top:.2g}): its weights barely learn.",
                            "Use ReLU instead of Sigmoid/Tanh in deep stacks, add BatchNorm, or "
                            "skip connections (Add)."),
    "dead_relus": ("{share:.0%} of the units after {node} never switch on (dead ReLUs).",
                   "Lower the learning rate, try LeakyReLU, or put BatchNorm before the ReLU."),
    "all_relus_dead": ("Every unit after {node} is dead, so no gradient can flow back through it; "
                       "the run stopped.",
                       "Restart with a smaller learning rate, LeakyReLU, or BatchNorm before the "
                       "ReLU."),
    "overfitting": ("The validation loss has risen {epochs} epochs in a row while the training "
                    "loss kept falling, well below it (validation {val:.4g} vs training "
                    "{train:.4g}): the model is memorising the training set.",
                    "Add Dropout, weight decay or data augmentation, use a smaller model, or turn "
                    "on early stopping."),
    "underfitting": ("The model has stalled at a low {metric} (training {train:.2f}, validation "
                     "{val:.2f}) and its loss has hardly fallen in the last {window} epochs: it "
                     "is underfitting, not yet able to learn the pattern.",
                     "Train for more epochs, raise the learning rate (try 3x), or give the model "
                     "more capacity: wider layers or one more hidden layer."),
    "bad_change": ("The new settings were not applied: {problem}.",
                   "The run goes on with its previous settings."),
}
STOPPING = frozenset({"nan_loss", "loss_stuck", "all_relus_dead"})


def make_alert(code: str, **details) -> dict:
    """The alert event for `code`, its message filled in from `details`."""
    message, advice = ALERTS[code]
    return {"kind": "alert", "code": code, "message": message.format(**details), "advice": advice,
            "stops_run": code in STOPPING}


class HealthMonitor(Callback):
    def __init__(self):
        self.raised: set[str] = set()
        self.history: list[dict] = []

    def on_train_start(self, trainer):
        # One fixed probe batch, so dead-unit counts compare across epochs.
        self.probe = trainer.splits["train"][0][:PROBE_SAMPLES]
        self.probe_cost_s, self.last_probe = 0.0, time.perf_counter()

    def on_epoch_end(self, trainer, record):
        self.history.append(record)
        findings = [*self._loss_findings(trainer), *self._gradient_findings(record["grad_norms"]),
                    *self._relu_findings(trainer)]
        for code, details in findings:
            if code in self.raised:
                continue
            self.raised.add(code)
            alert = make_alert(code, **details)
            trainer.alert(alert)
            if alert["stops_run"]:
                trainer.stop("halted", alert["message"])

    def _loss_findings(self, trainer):
        if trainer.task.name == "gan":  # two players: their losses are meant to see-saw
            return
        losses = [r["train_loss"] for r in self.history]
        if len(losses) >= PLATEAU_EPOCHS + 1 and max(losses) - min(losses) <= 1e-7 * abs(losses[0]):
            yield "loss_stuck", {"epochs": len(losses), "last": losses[-1]}
        elif len(losses) >= PLATEAU_EPOCHS and min(losses[1:]) > (1 - PLATEAU_GAIN) * losses[0]:
            yield "loss_flat", {"epochs": len(losses), "first": losses[0], "last": losses[-1]}
        yield from self._fit_findings()

    def _fit_findings(self):
        """Overfitting (training well ahead and pulling away) or underfitting (both stalled low)."""
        last = self.history[-1]
        recent = self.history[-(OVERFIT_EPOCHS + 1):]
        if len(recent) == OVERFIT_EPOCHS + 1 and recent[0]["val_loss"] is not None:
            val = [r["val_loss"] for r in recent]
            train = [r["train_loss"] for r in recent]
            train_ahead = train[-1] < (1 - OVERFIT_GAP) * val[-1] and (
                last.get("metric") not in SCORES or last["train_metric"] > last["val_metric"])
            if all(b > a for a, b in zip(val, val[1:])) and train[-1] < train[0] and train_ahead:
                yield "overfitting", {"epochs": OVERFIT_EPOCHS, "val": val[-1], "train": train[-1]}
        if (len(self.history) >= UNDERFIT_EPOCHS and last.get("metric") in SCORES
                and last.get("val_metric") is not None):
            scores = (last["train_metric"], last["val_metric"])
            before = self.history[-UNDERFIT_WINDOW - 1]["train_loss"]
            if max(scores) < UNDERFIT_SCORE and last["train_loss"] > (1 - UNDERFIT_GAIN) * before:
                yield "underfitting", {"metric": last["metric"], "train": scores[0], "val": scores[1],
                                       "window": UNDERFIT_WINDOW}

    @staticmethod
    def _gradient_findings(norms: dict[str, float]):
        if not norms:
            return
        busiest = max(norms, key=norms.get)
        quietest = min(norms, key=norms.get)
        if norms[busiest] > EXPLODING_NORM:
            yield "exploding_gradients", {"node": busiest, "norm": norms[busiest]}
        if len(norms) > 1 and norms[quietest] < VANISHING_RATIO * norms[busiest]:
            yield "vanishing_gradients", {"node": quietest, "norm": norms[quietest],
                                          "busiest": busiest, "top": norms[busiest]}

    def _relu_findings(self, trainer):
        if trainer.task.name == "gan":  # the pair has no single input to probe
            return
        if self.probe_cost_s > PROBE_BUDGET * (time.perf_counter() - self.last_probe):
            return  # short epochs: probe every few epochs instead, within the budget
        started = time.perf_counter()
        shares = dead_relu_shares(trainer.model, self.probe)
        self.last_probe = time.perf_counter()
        self.probe_cost_s = self.last_probe - started
        for node, share in shares.items():
            if share == 1.0:
                yield "all_relus_dead", {"node": node}
            elif share > DEAD_SHARE:
                yield "dead_relus", {"node": node, "share": share}


@torch.no_grad()
def dead_relu_shares(model: nn.Module, probe: torch.Tensor) -> dict[str, float]:
    """For each ReLU node, the share of its units that are zero for every sample of `probe`.

    A unit is a channel for images ([B, C, H, W]) and a feature otherwise ([B, F] or [B, T, F])."""
    relus = [(name, part) for name, part in named_parts(model) if isinstance(part, nn.ReLU)]
    if not relus or not len(probe):
        return {}
    shares: dict[str, float] = {}

    def measure(name):
        def hook(module, inputs, output):
            # [B, C, H, W] -> max over B, H, W per channel; [B, ..., F] -> max per last-dim feature
            if output.dim() < 2:
                return
            peak = output.amax(dim=(0, 2, 3)) if output.dim() == 4 else output.flatten(0, -2).amax(0)
            shares[name] = float((peak <= 0).float().mean())
        return hook

    handles = [part.register_forward_hook(measure(name)) for name, part in relus]
    was_training = model.training
    try:
        model.eval()
        model(probe)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return shares
