"""What keeps the loop's per-step host work small gives the same numbers as the slow way."""
import pytest
import torch

import trainers.tasks as tasks
from trainers.callbacks import GradNormRecorder
from trainers.config import default_config
from trainers.optim import make_optimizer
from trainers.tasks import BatchLog, Classification, Pending, Regression


@pytest.mark.parametrize("task", [Classification(), Regression()], ids=["accuracy", "r2"])
def test_metric_parts_computed_at_the_point_equal_the_per_batch_ones(task, monkeypatch):
    gen = torch.Generator().manual_seed(0)
    batches = []
    for size in (64, 64, 17):
        if isinstance(task, Classification):
            batches.append((torch.randn(size, 5, generator=gen), torch.randint(0, 5, (size,))))
        else:
            batches.append((torch.randn(size, 1, generator=gen), torch.randn(size, 1, generator=gen)))
    logs = {"eager": BatchLog(), "deferred": BatchLog(), "capped": BatchLog()}
    for output, target in batches:
        logs["eager"].add(torch.tensor(1.0), len(target), task.metric_part(output, target))
        logs["deferred"].add(torch.tensor(1.0), len(target), Pending(task.metric_part, output, target))
    assert logs["deferred"].pending and not logs["deferred"].parts  # nothing computed per step
    monkeypatch.setattr(tasks, "PENDING_BYTES", 1)  # past the cap: computed at once
    for output, target in batches:
        logs["capped"].add(torch.tensor(1.0), len(target), Pending(task.metric_part, output, target))
        assert not logs["capped"].pending
    sums = {name: log.drain() for name, log in logs.items()}
    for name in ("deferred", "capped"):
        assert sums[name].count == sums["eager"].count == 145
        assert sums[name].parts == pytest.approx(sums["eager"].parts, rel=1e-5)


def test_the_training_step_defers_its_metric_and_the_epoch_accuracy_is_exact():
    model = torch.nn.Linear(4, 3)
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    config = default_config("classification")
    from trainers.optim import Updater
    updater = Updater(model, config, torch.device("cpu"), lambda _: None)
    with torch.no_grad():
        expected = (model(x).argmax(1) == y).sum().item()
    _, part = Classification().train_step(model, x, y, {"model": updater}, torch.autocast(
        "cpu", enabled=False))
    assert isinstance(part, Pending)
    log = BatchLog()
    log.add(torch.tensor(0.5), 32, part)
    assert log.drain().parts == (expected,)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_cpu_and_cuda_runs_get_the_fused_optimizer(optimizer):
    params = [torch.nn.Parameter(torch.zeros(3))]
    config = default_config("classification", optimizer=optimizer)
    assert make_optimizer(params, config, "cpu").defaults["fused"] is True
    assert not make_optimizer(params, config, "mps").defaults.get("fused")


def test_gradient_norm_samples_reuse_one_node_layout():
    recorder = GradNormRecorder()

    class Stub:
        steps_per_epoch, step = 4, 0
    recorder.on_train_start(Stub())
    weight = torch.nn.Parameter(torch.ones(2, 2))
    weight.grad = torch.full((2, 2), 2.0)
    for _ in range(3):
        recorder.after_backward(Stub(), {"fc": [weight]})
    assert len(recorder.layouts) == 1 and len(recorder.samples) == 3
    record = {}
    recorder.on_epoch_end(Stub(), record)
    assert record["grad_norms"] == {"fc": pytest.approx(4.0)}
