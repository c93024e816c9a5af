"""What a run optimises and measures, per task: loss, metric, and (GAN) the shape of a step.

A batch yields its loss and, for the metric, a small 1-D tensor of sums (`part`, e.g. the number
of correct answers). Both stay on the device: BatchLog only appends them to lists, which launches
no kernel, so a step never waits for the GPU. A training step does not even compute its part:
it hands over its detached output and target (`Pending`), and BatchLog computes the parts of
all the batches since the last point in one go (a few kernels per point instead of per step;
the train accuracy cost ~4% of a small model's step). `drain()` reads everything at once at a
metrics point (~5 per second) and `summarise` turns the Sums into the mean loss and the metric.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import zip_longest

import torch
import torch.nn.functional as F
from torch import nn

from builder import Graph, GraphError, Problem, compile_graph, split_components
from trainers.config import TrainConfig


@dataclass(frozen=True)
class Sums:
    """Host-side totals over some batches: samples, loss x samples, the task's metric sums."""
    count: int = 0
    loss: float = 0.0
    parts: tuple[float, ...] = field(default_factory=tuple)

    def __add__(self, other: Sums) -> Sums:
        parts = tuple(a + b for a, b in zip_longest(self.parts, other.parts, fillvalue=0.0))
        return Sums(self.count + other.count, self.loss + other.loss, parts)


# Outputs held for their metric until the next point, at most (then their parts are computed).
PENDING_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Pending:
    """A training batch's metric part, not computed yet: `metric_part(output, target)`."""
    metric_part: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    output: torch.Tensor  # detached
    target: torch.Tensor


class BatchLog:
    """Each batch's loss and metric part since the last drain, still on the device."""

    def __init__(self):
        self.losses: list[torch.Tensor] = []
        self.sizes: list[int] = []
        self.parts: list[torch.Tensor] = []
        self.pending: list[Pending] = []
        self.pending_bytes = 0

    def add(self, loss: torch.Tensor, size: int, part: torch.Tensor | Pending | None) -> None:
        self.losses.append(loss)
        self.sizes.append(size)
        if isinstance(part, Pending):
            self.pending.append(part)
            self.pending_bytes += part.output.nbytes + part.target.nbytes
            if self.pending_bytes > PENDING_BYTES:
                self._compute_pending()
        elif part is not None:
            self.parts.append(part)

    def _compute_pending(self) -> None:
        """One metric computation over every pending batch (its parts are sums, so the part of
        the concatenation is the sum of the batches' parts)."""
        if self.pending:
            first = self.pending[0]
            self.parts.append(first.metric_part(torch.cat([p.output for p in self.pending]),
                                                torch.cat([p.target for p in self.pending])))
        self.pending, self.pending_bytes = [], 0

    def drain(self) -> Sums:
        """Read everything logged (the only device reads) and start afresh."""
        if not self.losses:
            return Sums()
        self._compute_pending()
        losses = torch.stack(self.losses).float().tolist()
        parts = tuple(torch.stack(self.parts).sum(0).tolist()) if self.parts else ()
        sums = Sums(sum(self.sizes), sum(loss * n for loss, n in zip(losses, self.sizes)), parts)
        self.__init__()
        return sums


class Task:
    """Classification/regression/autoencoder shared machinery; subclasses give loss and metric."""
    name = "task"
    metric_name: str | None = None
    has_validation = True  # GAN has no meaningful held-out loss
    makes_samples = False  # emits sample/reconstruction images for the page

    def parameter_groups(self, model: nn.Module) -> dict[str, nn.Module]:
        """The parts that get their own optimizer (GAN: two)."""
        return {"model": model}

    def target(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y

    def loss_and_part(self, model: nn.Module, x, y) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch's mean loss and its metric part (None for tasks without a metric)."""
        output = model(x)
        target = self.target(x, y)
        return self.loss(model, output, target), self.metric_part(output.detach(), target)

    def loss(self, model: nn.Module, output, target) -> torch.Tensor:
        raise NotImplementedError

    def metric_part(self, output, target) -> torch.Tensor | None:
        return None

    def train_step(self, model, x, y, updaters: dict, autocast: AbstractContextManager):
        """One update; returns (detached loss, Pending metric part or None) for the BatchLog."""
        with autocast:
            output = model(x)
            target = self.target(x, y)
            loss = self.loss(model, output, target)
        updaters["model"].update(loss)
        part = Pending(self.metric_part, output.detach(), target) if self.metric_name else None
        return loss.detach(), part

    def summarise(self, sums: Sums) -> tuple[float | None, float | None]:
        """(mean loss, metric); (None, None) when no sample was seen."""
        if not sums.count:
            return None, None
        return sums.loss / sums.count, self.metric(sums)

    def metric(self, sums: Sums) -> float | None:
        return None

    def sample_images(self, model, x: torch.Tensor):
        """Images for the page (N, C, H, W) in [0, 1], or None."""
        return None


class Classification(Task):
    name, metric_name = "classification", "accuracy"

    def loss(self, model, output, target):
        return F.cross_entropy(output.float(), target)

    def metric_part(self, output, target):
        return (output.argmax(dim=1) == target).sum().reshape(1)  # correct answers

    def metric(self, sums):
        return sums.parts[0] / sums.count


class Regression(Task):
    """MSE or MAE; R² from running sums (Σy, Σy², Σ(y-ŷ)², element count) over all targets."""
    name, metric_name = "regression", "r2"

    def __init__(self, loss_kind: str = "mse"):
        self.loss_fn = F.l1_loss if loss_kind == "mae" else F.mse_loss

    def loss(self, model, output, target):
        return self.loss_fn(_like(output, target), target)

    def metric_part(self, output, target):
        error = _like(output, target).float() - target
        elements = target.new_tensor(float(target.numel()))
        return torch.stack([target.sum(), (target * target).sum(), (error * error).sum(), elements])

    def metric(self, sums):
        total, total_sq, sse, elements = sums.parts
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
    """Reconstruction (squared error summed over pixels, averaged over the batch) plus `beta`
    times the model's KL term (trainers.config explains the default beta)."""
    name = "vae"

    def __init__(self, beta: float = 1.0):
        self.beta = beta

    def loss(self, model, output, target):
        reconstruction = F.mse_loss(_like(output, target).float(), target, reduction="sum")
        return reconstruction / len(target) + self.beta * model.aux_loss()


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
    name, metric_name = "gan", "discriminator_loss"
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
        return g_loss.detach(), (d_loss.detach() * len(x)).reshape(1)

    def metric(self, sums):
        return sums.parts[0] / sums.count

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
        return VAE(config.beta)
    raise ValueError(f"task {config.task!r} builds its task with its model (build_gan)")
