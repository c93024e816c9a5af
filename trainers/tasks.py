"""What a run optimises and measures, per task: loss, metric, and (GAN) the shape of a step.

Each batch's contribution to the epoch's numbers is one small tensor of sums kept on the device
(`stats`): [loss * n, n, metric sums...]. The trainer adds these up without reading them, so a
step never waits for the GPU; `summarise` turns the total into numbers once per point/epoch.
"""
from __future__ import annotations

from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F
from torch import nn

from trainers.config import TrainConfig

LOSS, COUNT = 0, 1  # positions in every stats tensor


class Task:
    """Classification/regression/autoencoder shared machinery; subclasses give loss and metric."""
    name = "task"
    metric_name: str | None = None
    num_stats = 2
    has_validation = True  # GAN has no meaningful held-out loss
    makes_samples = False  # emits sample/reconstruction images for the page

    def parameter_groups(self, model: nn.Module) -> dict[str, nn.Module]:
        """The parts that get their own optimizer (GAN: two)."""
        return {"model": model}

    def target(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y

    def loss_and_stats(self, model: nn.Module, x, y) -> tuple[torch.Tensor, torch.Tensor]:
        output = model(x)
        target = self.target(x, y)
        loss = self.loss(model, output, target)
        return loss, self.stats(loss, output, target)

    def loss(self, model: nn.Module, output, target) -> torch.Tensor:
        raise NotImplementedError

    def stats(self, loss, output, target) -> torch.Tensor:
        n = torch.tensor(float(len(target)), device=loss.device)
        return torch.stack([loss.detach().float() * n, n])

    def train_step(self, model, x, y, updaters: dict, autocast: AbstractContextManager):
        with autocast:
            loss, stats = self.loss_and_stats(model, x, y)
        updaters["model"].update(loss)
        return stats

    def summarise(self, stats: torch.Tensor) -> tuple[float, float | None]:
        """(mean loss, metric) from summed stats (a CPU tensor)."""
        count = max(float(stats[COUNT]), 1.0)
        return float(stats[LOSS]) / count, self.metric(stats)

    def metric(self, stats: torch.Tensor) -> float | None:
        return None

    def sample_images(self, model, x: torch.Tensor):
        """Images for the page (N, C, H, W) in [0, 1], or None."""
        return None


class Classification(Task):
    name, metric_name, num_stats = "classification", "accuracy", 3

    def loss(self, model, output, target):
        return F.cross_entropy(output.float(), target)

    def stats(self, loss, output, target):
        correct = (output.argmax(dim=1) == target).sum().float()
        return torch.cat([super().stats(loss, output, target), correct[None]])

    def metric(self, stats):
        return float(stats[2]) / max(float(stats[COUNT]), 1.0)


class Regression(Task):
    """MSE or MAE; R² from running sums (Σy, Σy², Σ(y-ŷ)², element count) over all targets."""
    name, metric_name, num_stats = "regression", "r2", 6

    def __init__(self, loss_kind: str = "mse"):
        self.loss_fn = F.l1_loss if loss_kind == "mae" else F.mse_loss

    def loss(self, model, output, target):
        return self.loss_fn(_like(output, target), target)

    def stats(self, loss, output, target):
        error = _like(output, target).detach().float() - target
        elements = torch.tensor(float(target.numel()), device=target.device)
        sums = torch.stack([target.sum(), (target * target).sum(), (error * error).sum(), elements])
        return torch.cat([super().stats(loss, output, target), sums])

    def metric(self, stats):
        total, total_sq, sse, elements = (float(v) for v in stats[2:6])
        variance_sum = total_sq - total * total / max(elements, 1.0)
        return 1.0 - sse / variance_sum if variance_sum > 0 else None


class Autoencoder(Task):
    """Learn to reproduce the input; the loss is the mean squared reconstruction error."""
    name, makes_samples = "autoencoder", True

    def target(self, x, y):
        return x

    def loss(self, model, output, target):
        return F.mse_loss(_like(output, target).float(), target)

    def sample_images(self, model, x):
        """Originals over reconstructions: 2N images."""
        with torch.no_grad():
            reconstructions = _like(model(x), x).float().clamp(0, 1)
        return torch.cat([x.float(), reconstructions]).cpu().numpy()


class VAE(Autoencoder):
    """Reconstruction (summed over pixels, averaged over the batch) plus the model's KL term."""
    name = "vae"

    def loss(self, model, output, target):
        reconstruction = F.mse_loss(_like(output, target).float(), target, reduction="sum")
        return reconstruction / len(target) + model.aux_loss()


def _like(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The output viewed with the target's shape: a Dense head gives [B, k] for a [B, k] or [B]
    target, a decoder gives [B, C*H*W] or [B, C, H, W] for [B, C, H, W]."""
    if output.shape == target.shape:
        return output
    if output.numel() != target.numel():
        raise ValueError(f"the model's output has shape {list(output.shape[1:])} per sample but "
                         f"the target has {list(target.shape[1:])}: make the last layer's size match")
    return output.reshape(target.shape)


def make_task(config: TrainConfig) -> Task:
    """The Task object for a config (GAN lives in trainers.gan: it needs the graph)."""
    if config.task == "classification":
        return Classification()
    if config.task == "regression":
        return Regression(config.regression_loss)
    if config.task == "autoencoder":
        return Autoencoder()
    if config.task == "vae":
        return VAE()
    raise ValueError(f"task {config.task!r} needs its model built by trainers.gan")
