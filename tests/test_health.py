"""Training-health alerts: each one fires on its symptom, once, with advice; some stop the run."""
import math

import pytest
import torch
from torch import nn

from tests.trainer_fakes import Recorder, blobs_bundle
from trainers.config import make_config
from trainers.health import ALERTS, HealthMonitor, dead_relu_shares, make_alert
from trainers.loop import Trainer, default_callbacks


class FakeTrainer:
    """What HealthMonitor touches on a Trainer."""

    def __init__(self, model=None, task="classification"):
        self.model = model or nn.Sequential(nn.Linear(4, 3))
        self.task = type("T", (), {"name": task})()
        self.splits = {"train": (torch.randn(64, 4), None)}
        self.alerts, self.stopped = [], None

    def alert(self, event):
        self.alerts.append(event)

    def stop(self, status, message):
        self.stopped = (status, message)


def feed(records, trainer=None):
    trainer = trainer or FakeTrainer()
    monitor = HealthMonitor()
    monitor.on_train_start(trainer)
    for epoch, record in enumerate(records, 1):
        monitor.on_epoch_end(trainer, {"epoch": epoch, "val_loss": None, "grad_norms": {}, **record})
    return trainer


def codes(trainer):
    return [a["code"] for a in trainer.alerts]


def test_exploding_gradients_name_the_node():
    trainer = feed([{"train_loss": 1.0, "grad_norms": {"fc1": 5e3, "fc2": 2.0}}])
    [alert] = trainer.alerts
    assert alert["code"] == "exploding_gradients" and "fc1" in alert["message"]
    assert "gradient clipping" in alert["advice"] and trainer.stopped is None


def test_vanishing_gradients_name_the_quiet_node_and_the_busy_one():
    trainer = feed([{"train_loss": 1.0, "grad_norms": {"fc1": 1e-9, "fc2": 0.5}}])
    [alert] = trainer.alerts
    assert alert["code"] == "vanishing_gradients"
    assert "at fc1" in alert["message"] and "fc2" in alert["message"]


def test_a_flat_loss_is_flagged_and_a_frozen_one_stops_the_run():
    flat = feed([{"train_loss": loss} for loss in (1.0, 0.999, 0.998, 0.997)])
    assert codes(flat) == ["loss_flat"] and flat.stopped is None
    frozen = feed([{"train_loss": 0.7}] * 5)
    assert "loss_stuck" in codes(frozen) and frozen.stopped[0] == "halted"


def epochs(rows, metric="accuracy"):
    """Epoch records from (train_loss, val_loss, train_metric, val_metric) rows."""
    return [{"train_loss": t, "val_loss": v, "train_metric": tm, "val_metric": vm, "metric": metric}
            for t, v, tm, vm in rows]


def test_a_growing_validation_gap_is_overfitting():
    trainer = feed(epochs([(1.0, 1.0, 0.6, 0.6), (0.8, 1.05, 0.7, 0.62), (0.6, 1.1, 0.8, 0.61),
                           (0.4, 1.2, 0.9, 0.6)]))
    assert codes(trainer) == ["overfitting"]
    assert "Dropout" in trainer.alerts[0]["advice"]


def test_validation_noise_without_training_ahead_is_not_overfitting():
    # The underfitting spiral: train and validation level (train accuracy 0.63, just under
    # validation), the validation loss wobbling up a little while training creeps down.
    twin = epochs([(0.66, 0.650, 0.62, 0.64), (0.655, 0.652, 0.63, 0.64), (0.65, 0.655, 0.63, 0.64),
                   (0.648, 0.66, 0.63, 0.64)])
    assert "overfitting" not in codes(feed(twin))
    # a loss gap alone is not enough while validation accuracy is ahead of training's
    ahead = epochs([(1.0, 1.0, 0.6, 0.6), (0.8, 1.05, 0.6, 0.7), (0.6, 1.1, 0.6, 0.7), (0.4, 1.2, 0.6, 0.7)])
    assert "overfitting" not in codes(feed(ahead))


def test_overfitting_of_a_model_without_a_score_needs_only_the_loss_gap():
    gap = [(1.0, 1.0), (0.8, 1.05), (0.6, 1.1), (0.4, 1.2)]
    assert codes(feed(epochs([(t, v, None, None) for t, v in gap], metric=None))) == ["overfitting"]
    level = [(1.0, 1.0), (0.99, 1.01), (0.98, 1.02), (0.97, 1.03)]
    assert codes(feed(epochs([(t, v, None, None) for t, v in level], metric=None))) == []


SPIRAL = [(0.69, 0.69, 0.50, 0.52), (0.66, 0.66, 0.58, 0.60), (0.650, 0.652, 0.62, 0.63),
          (0.648, 0.650, 0.63, 0.63), (0.647, 0.651, 0.63, 0.64), (0.646, 0.652, 0.63, 0.64)]


def test_both_scores_low_and_a_flat_loss_is_underfitting_with_its_own_advice():
    trainer = feed(epochs(SPIRAL))
    assert codes(trainer) == ["underfitting"]
    [alert] = trainer.alerts
    assert "training 0.63" in alert["message"] and "validation 0.64" in alert["message"]
    assert all(word in alert["advice"] for word in ("more epochs", "learning rate", "capacity"))
    assert "memorising" not in alert["message"] and "Dropout" not in alert["advice"]


def test_a_low_score_still_climbing_or_a_good_score_is_not_underfitting():
    climbing = epochs([(1.0 - 0.12 * i, 1.0 - 0.12 * i, 0.3 + 0.08 * i, 0.3 + 0.08 * i) for i in range(6)])
    assert codes(feed(climbing)) == []
    good = epochs([(t, v, tm + 0.3, vm + 0.3) for t, v, tm, vm in SPIRAL])  # flat, but at 0.93
    assert codes(feed(good)) == []
    unscored = epochs([(t, v, None, None) for t, v, _, _ in SPIRAL], metric="discriminator_loss")
    assert codes(feed(unscored)) == []


def test_each_alert_is_raised_once():
    records = [{"train_loss": 1.0 - i / 10, "grad_norms": {"fc1": 5e3}} for i in range(4)]
    assert codes(feed(records)) == ["exploding_gradients"]


def test_gan_losses_may_see_saw_without_alerts():
    assert codes(feed([{"train_loss": 0.7}] * 6, FakeTrainer(task="gan"))) == []


def dead_net(dead_units: int, width: int = 8):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, 3))
    with torch.no_grad():
        model[0].weight[:dead_units] = 0
        model[0].bias[:dead_units] = -1.0  # these units output 0 for every input
        model[0].weight[dead_units:] = 0
        model[0].bias[dead_units:] = 1.0
    return model


def test_dead_relu_share_counts_units_that_never_fire():
    assert dead_relu_shares(dead_net(6), torch.randn(32, 4)) == {"1": 0.75}
    trainer = feed([{"train_loss": 1.0}], FakeTrainer(dead_net(6)))
    assert codes(trainer) == ["dead_relus"] and "75%" in trainer.alerts[0]["message"]


def test_a_layer_with_every_relu_dead_stops_a_real_run():
    emit = Recorder()
    trainer = Trainer(dead_net(8).float(), blobs_bundle(features=4), make_config(epochs=5),
                      default_callbacks(emit))
    result = trainer.fit()
    assert result["status"] == "halted" and result["epochs"] == 1
    alerts = {a["code"]: a for a in emit.of("alert")}
    assert alerts["all_relus_dead"]["stops_run"]
    assert "vanishing_gradients" in alerts  # nothing reaches the first layer either
    assert emit.events[-1]["kind"] == "done"


@pytest.mark.parametrize("code", sorted(ALERTS))
def test_every_alert_reads_as_plain_text(code):
    details = dict(value=math.nan, step=3, epochs=4, first=1.0, last=0.9, node="fc1", norm=2.0,
                   busiest="fc2", top=3.0, share=0.75, val=0.6, train=0.4, problem="lr: too big",
                   metric="accuracy", window=3)
    alert = make_alert(code, **details)
    assert alert["message"] and alert["advice"] and "{" not in alert["message"]
