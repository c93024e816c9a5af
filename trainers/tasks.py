"""What a run optimises and measures, per task: loss, metric, and (GAN) the shape of a step.

Each batch's contribution to the epoch's numbers is one small tensor of sums kept on the device
(`stats`): [loss * n, n, metric sums...]. The trainer adds these up without reading them, so a
step never waits for the GPU; `summarise` turns the total into numbers once per point/epoch.
"""
from __future__ import annotations

import math
from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F
from torch import nn

from builder import Graph, GraphError, Problem, compile_graph, split_components
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


class GanPair(nn.Module):
    """The generator and discriminator of one GAN graph, trained in turn.

    Their layers are registered on the pair itself under their node attribute names, so the
    pair's state_dict has exactly the keys of compile_graph(whole graph): weights saved from a
    GAN run load into the whole graph (the page's snapshot, exports) and back."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module):
        super().__init__()
        for part in (generator, discriminator):
            for name, child in part.named_children():
                self.add_module(name, child)
        self.parts = (generator, discriminator)  # a tuple: nn.Module does not register it again


class GAN(Task):
    """Alternating updates: the discriminator learns real vs generated, then the generator learns
    to fool it (the non-saturating loss). train_loss is the generator's, the metric the
    discriminator's."""
    name, metric_name, num_stats = "gan", "discriminator_loss", 3
    has_validation, makes_samples = False, True

    def __init__(self, latent_shape: tuple[int, ...], seed: int, samples: int = 16):
        self.latent_shape = latent_shape
        # The same noise every epoch, so the sample grid shows one set of images improving.
        self.fixed_noise = torch.randn(samples, *latent_shape,
                                       generator=torch.Generator().manual_seed(seed))

    def parameter_groups(self, model):
        generator, discriminator = model.parts
        return {"discriminator": discriminator, "generator": generator}

    def train_step(self, model, x, y, updaters, autocast):
        generator, discriminator = model.parts
        noise = torch.randn(len(x), *self.latent_shape, device=x.device)
        with autocast:
            fake = generator(noise)
            d_loss = (_bce_towards(discriminator(x), 1.0)
                      + _bce_towards(discriminator(fake.detach()), 0.0)) / 2
        updaters["discriminator"].update(d_loss)
        with autocast:  # a fresh forward through the just-updated discriminator
            g_loss = _bce_towards(discriminator(fake), 1.0)
        updaters["generator"].update(g_loss)
        n = torch.tensor(float(len(x)), device=x.device)
        return torch.stack([g_loss.detach().float() * n, n, d_loss.detach().float() * n])

    def metric(self, stats):
        return float(stats[2]) / max(float(stats[COUNT]), 1.0)

    def sample_images(self, model, x):
        generator = model.parts[0]
        with torch.no_grad():
            images = generator(self.fixed_noise.to(x.device)).float()
        return images.reshape(len(images), *x.shape[1:]).clamp(0, 1).cpu().numpy()


def _bce_towards(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits.float(), label))


def build_gan(graph: Graph, data_shape: tuple[int, ...], seed: int) -> tuple[GanPair, GAN]:
    """Find the generator (outputs data-shaped samples) and the discriminator (takes data, gives
    one score) among the graph's two parts, and compile each."""
    parts = [compile_graph(part) for part in split_components(graph)]
    shapes = [(_shape(p, p.input_ids[0]), _shape(p, p.output_ids[0])) for p in parts]
    generators = [p for p, (_, out) in zip(parts, shapes) if out == data_shape]
    discriminators = [p for p, (inp, out) in zip(parts, shapes)
                      if inp == data_shape and math.prod(out) == 1]
    if len(parts) != 2 or len(generators) != 1 or len(discriminators) != 1:
        found = ", ".join(f"{list(i)} -> {list(o)}" for i, o in shapes)
        raise GraphError([Problem(None, None, (
            f"a GAN needs two separate parts: a generator that outputs {list(data_shape)} (the "
            f"dataset's images) and a discriminator that takes {list(data_shape)} and outputs one "
            f"score; this graph has {len(parts)} part(s): {found}"))])
    generator = generators[0]
    return GanPair(generator, discriminators[0]), GAN(_shape(generator, generator.input_ids[0]), seed)


def _shape(model, node_id: str) -> tuple[int, ...]:
    return tuple(model.report.nodes[node_id].output_shape)


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
    """The Task object for a config (a GAN's comes from build_gan: it needs the graph)."""
    if config.task == "classification":
        return Classification()
    if config.task == "regression":
        return Regression(config.regression_loss)
    if config.task == "autoencoder":
        return Autoencoder()
    if config.task == "vae":
        return VAE()
    raise ValueError(f"task {config.task!r} builds its task with its model (build_gan)")
