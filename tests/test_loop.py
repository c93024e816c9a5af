"""The training loop on small hand-written models: events, control, NaN, errors, schedules."""
import math

import pytest
import torch
from torch import nn

from tests.trainer_fakes import Recorder, ScriptedControl, blobs_bundle
from trainers.config import ConfigError, apply_overrides, default_config, make_config
from trainers.devices import DeviceError, available_devices, resolve_device
from builder.templates import load_template
from trainers.callbacks import node_norms
from trainers.checkpoints import save_weights
from trainers.config import RunSpec
from trainers.loop import Trainer, TrainingError, default_callbacks, train_run
from trainers.metrics import EPOCH_KEYS, STEP_KEYS, MetricsHistory
from trainers.optim import lr_factor

torch.set_num_threads(1)


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))


def run(model=None, control=None, bundle=None, **settings):
    emit = Recorder()
    config = make_config(**{"epochs": 3, "lr": 0.01, **settings})
    trainer = Trainer(model or mlp(), bundle or blobs_bundle(), config, default_callbacks(emit))
    return trainer, trainer.fit(control), emit


def test_a_run_learns_and_emits_the_protocol_events_in_order():
    trainer, result, emit = run(epochs=6)
    assert result["status"] == "finished" and result["epochs"] == 6
    assert result["test_metric"] > 0.85 and result["metric"] == "accuracy"
    assert emit.events[-1] == {"kind": "done", "result": result}
    epochs = emit.of("epoch")
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5, 6]
    assert set(EPOCH_KEYS) <= epochs[0].keys() and set(STEP_KEYS) <= emit.of("step")[0].keys()
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert set(epochs[0]["grad_norms"]) == {"0", "2"}  # the two Linear layers, by child name
    final = emit.of("weights")[-1]["state"]
    assert all(torch.equal(final[k], v) for k, v in trainer.model.state_dict().items())


def test_metrics_history_folds_the_events_and_writes_csv():
    history = MetricsHistory()
    _, _, emit = run(epochs=2)
    for event in emit.events:
        history.apply(event)
    snap = history.snapshot()
    assert len(snap.epochs) == 2 and len(snap.grad_norms) == 2 and snap.result["epochs"] == 2
    lines = history.to_csv().splitlines()
    assert lines[0].startswith("epoch,train_loss,val_loss,train_accuracy,val_accuracy,lr,grad_norm_0")
    assert len(lines) == 3


def test_stop_takes_effect_within_one_batch():
    _, result, emit = run(control=ScriptedControl(stop_at=5))
    assert result["status"] == "stopped" and result["steps"] == 4
    assert emit.events[-1]["kind"] == "done" and not emit.of("epoch")


def test_resume_with_a_new_lr_changes_the_optimizer_and_is_announced():
    trainer, _, emit = run(control=ScriptedControl(changes={3: {"lr": 0.2, "momentum": 0.5}}),
                           optimizer="sgd")
    [change] = emit.of("config_changed")
    assert change["step"] == 2 and change["changes"] == {"lr": 0.2, "momentum": 0.5}
    group = trainer.updaters["model"].optimizer.param_groups[0]
    assert group["lr"] == 0.2 and group["momentum"] == 0.5


def test_a_refused_change_is_an_alert_and_the_run_goes_on():
    _, result, emit = run(control=ScriptedControl(changes={2: {"batch_size": 7}}))
    [alert] = emit.of("alert")
    assert alert["code"] == "bad_change" and "batch_size" in alert["message"]
    assert result["status"] == "finished"


class BlowsUpAfter(nn.Module):
    """Returns NaN from call `bad_from` on (as a diverging model would)."""

    def __init__(self, bad_from: int):
        super().__init__()
        self.layer, self.calls, self.bad_from = nn.Linear(8, 3), 0, bad_from

    def forward(self, x):
        self.calls += self.training
        return self.layer(x) * (math.nan if self.calls >= self.bad_from else 1.0)


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_weights():
    trainer, result, emit = run(model=BlowsUpAfter(bad_from=12), epochs=5)
    assert result["status"] == "diverged" and "nan" in result["error"].lower()
    assert [a["code"] for a in emit.of("alert")] == ["nan_loss"]
    weights = [e["state"] for e in emit.of("weights")]
    assert all(t.isfinite().all() for state in weights for t in state.values())
    assert all(t.isfinite().all() for t in trainer.model.state_dict().values())
    assert emit.events[-1]["kind"] == "done"


class Raises(nn.Linear):
    def forward(self, x):
        raise RuntimeError("boom in layer fc")


def test_an_exception_inside_the_loop_surfaces_with_its_message():
    with pytest.raises(RuntimeError, match="boom in layer fc"):
        run(model=Raises(8, 3))


def test_a_model_without_weights_is_refused_plainly():
    with pytest.raises(ValueError, match="no trainable weights"):
        run(model=nn.Sequential(nn.Identity()))


@pytest.mark.parametrize("scheduler", ["none", "step", "cosine", "onecycle"])
def test_every_scheduler_trains(scheduler):
    _, result, emit = run(scheduler=scheduler, epochs=3)
    lrs = [e["lr"] for e in emit.of("epoch")]
    assert result["status"] == "finished"
    assert (len(set(lrs)) == 1) == (scheduler == "none")


def test_lr_schedules_follow_their_shapes():
    assert [lr_factor("step", s, 90) for s in (0, 29, 30, 60, 89)] == pytest.approx(
        [1, 1, 0.1, 0.01, 0.01])
    assert lr_factor("cosine", 0, 100) == 1 and lr_factor("cosine", 100, 100) == pytest.approx(0)
    assert lr_factor("onecycle", 0, 100) == pytest.approx(1 / 25)
    assert lr_factor("onecycle", 30, 100) == pytest.approx(1)
    assert lr_factor("onecycle", 100, 100) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_optimizer_lowers_the_loss(optimizer):
    _, _, emit = run(optimizer=optimizer, epochs=3, lr=0.05 if optimizer == "sgd" else 0.005,
                     grad_clip=1.0, weight_decay=1e-4)
    epochs = emit.of("epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]


def test_the_same_seed_gives_the_same_run():
    first, second = run(seed=3)[1], run(seed=3)[1]
    assert first["test_loss"] == second["test_loss"]


def test_settings_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"lr: Input should be greater than 0 \(got -1\)"):
        make_config(lr=-1)
    with pytest.raises(ConfigError, match="nesterov needs optimizer 'sgd'"):
        make_config(nesterov=True, optimizer="adam")
    with pytest.raises(ConfigError, match="cannot change batch_size"):
        apply_overrides(default_config("classification"), {"batch_size": 3})
    assert default_config("gan").lr == 1e-3


def test_devices_list_the_cpu_and_refuse_what_is_not_there():
    assert available_devices()[0].id == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(DeviceError, match="cuda:7.*not available.*cpu"):
        resolve_device("cuda:7")
    with pytest.raises(DeviceError, match="amp 'fp16' is not offered on cpu"):
        resolve_device("cpu", amp="fp16")


def spec_for(template, dataset, **settings):
    config = default_config("classification", **settings)
    return RunSpec(graph=load_template(template).to_dict(), dataset=dataset, config=config)


def test_train_run_augments_image_batches_and_refuses_augmenting_other_data():
    emit = Recorder()
    result = train_run(spec_for("mlp_digits", "digits", epochs=1, augment=True), None, emit)
    assert result["status"] == "finished" and emit.of("epoch")
    with pytest.raises(TrainingError, match="augment: 'moons' is not an image dataset"):
        train_run(spec_for("mlp_playground", "moons", augment=True), None, emit)


def test_train_run_starts_from_a_given_state_fork(tmp_path):
    emit = Recorder()
    train_run(spec_for("mlp_digits", "digits", epochs=3), None, emit)
    trained = emit.of("weights")[-1]["state"]
    save_weights(trained, tmp_path / "start.safetensors")
    fork = spec_for("mlp_digits", "digits", epochs=1, lr=1e-9).model_copy(
        update={"init_state": str(tmp_path / "start.safetensors")})
    forked = Recorder()
    train_run(fork, None, forked)
    start = forked.of("epoch")[0]["train_loss"]
    assert start < emit.of("epoch")[0]["train_loss"] / 2  # begins where the first run ended
    with pytest.raises(TrainingError, match="cannot start from .*missing.safetensors"):
        train_run(fork.model_copy(update={"init_state": str(tmp_path / "missing.safetensors")}),
                  None, forked)


def test_fused_node_norms_match_a_direct_computation():
    grads = [torch.randn(3, 4), torch.randn(4), torch.randn(5)]
    nodes, norms = node_norms(["fc1", "fc1", "fc2"], grads)
    direct = [torch.cat([grads[0].flatten(), grads[1]]).norm(), grads[2].norm()]
    assert nodes == ["fc1", "fc2"]
    assert norms.tolist() == pytest.approx([float(d) for d in direct], rel=1e-5)
