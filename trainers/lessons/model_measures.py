"""Measures read from a lesson run's trained model and its data, not from its history.

The random samples are what a generative network makes from noise: a GAN's generator output
for random z, or a VAE's decoder applied to codes drawn from N(0, 1).
`sample_distance` checks that they look like the data: how far each lies from the nearest real
example (a plain autoencoder's codes fill only part of the space, so its decoded random codes are
blots; a VAE's are digits). `sample_spread` checks that they differ from each other (a GAN whose
generator collapsed draws one blob whatever z is). `reconstruction_error` is what a VAE pays:
how exactly test inputs come back (its loss adds the KL term, so the loss alone cannot compare
it with an autoencoder). Every forward stays within the server's evaluation budget.
"""
from __future__ import annotations

import math

import torch

from trainers import probes
from trainers.eval_budget import chunks, rows_that_fit

RANDOM_CODES = 64  # random samples measured (fewer when the model is too large)
NEAREST_AMONG = 2000  # training examples searched for each decoded code's nearest
SEED = 0  # the same random codes for every run, so runs are compared on the same draws


def random_samples(model, data, count: int = RANDOM_CODES) -> torch.Tensor:
    """What the network makes from noise, (count, *data shape): a GAN graph's generator output
    (an Input that takes no data reads the noise), else the decoder of its latent code."""
    data_shape = tuple(data.x_test.shape[1:])
    count = rows_that_fit(model, count)
    if any(tuple(model.report.nodes[node].output_shape) != data_shape for node in model.input_ids):
        return probes.generate(model, count=count, seed=SEED)
    return probes.sample_prior(model, data.x_test[:1], count=count, seed=SEED)


def _per_value(distances: torch.Tensor, values: int) -> torch.Tensor:
    return distances / math.sqrt(values)  # Euclidean distance -> root-mean-square per value


@torch.no_grad()
def sample_distance(model, data) -> float:
    """Mean distance (root-mean-square per value) from each random sample to the nearest
    training example."""
    samples = random_samples(model, data).flatten(1).float()  # (samples, values)
    pool = data.x_train[:NEAREST_AMONG].float().flatten(1)  # (examples, values)
    nearest = torch.cdist(samples, pool).min(dim=1).values  # (samples,)
    return _per_value(nearest, pool.shape[1]).mean().item()


@torch.no_grad()
def sample_spread(model, data) -> float:
    """Mean distance (root-mean-square per value) between two random samples."""
    samples = random_samples(model, data).flatten(1).float()
    if len(samples) < 2:
        raise ValueError("the server's evaluation budget leaves fewer than 2 samples to compare")
    return _per_value(torch.pdist(samples), samples.shape[1]).mean().item()


@torch.no_grad()
def reconstruction_error(model, data) -> float:
    """Mean squared difference per value between the test inputs and the model's outputs."""
    x = data.x_test
    total = 0.0
    for part in chunks(model, len(x), most=256):
        total += (model(x[part]).float() - x[part]).pow(2).sum().item()
    return total / x.numel()


MODEL_QUANTITIES = {"sample_distance": sample_distance, "sample_spread": sample_spread,
                    "reconstruction_error": reconstruction_error}
