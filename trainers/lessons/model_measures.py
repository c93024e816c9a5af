"""Measures read from a lesson run's trained model and its data, not from its history.

`sample_distance` checks a VAE's promise that its latent space can be sampled: decode codes drawn
from N(0, 1) and see how far the results lie from the nearest real example. A plain autoencoder's
codes fill only part of that space, so its decoded random codes are blots; a VAE's are digits.
`reconstruction_error` is what the VAE pays for it: how exactly test inputs come back (a VAE's
loss adds its KL term, so the loss alone cannot compare a VAE with an autoencoder).
Every forward stays within the server's evaluation budget (trainers.eval_budget).
"""
from __future__ import annotations

import math

import torch

from trainers import probes
from trainers.eval_budget import chunks, rows_that_fit

RANDOM_CODES = 64  # decoded for sample_distance (fewer when the model is too large)
NEAREST_AMONG = 2000  # training examples searched for each decoded code's nearest
SEED = 0  # the same random codes for every run, so runs are compared on the same draws


@torch.no_grad()
def sample_distance(model, data) -> float:
    """Mean distance (root-mean-square per value) from each decoded random code to the nearest
    training example."""
    like = data.x_test[:1]
    decoded = probes.sample_prior(model, like, count=rows_that_fit(model, RANDOM_CODES), seed=SEED)
    pool = data.x_train[:NEAREST_AMONG].float().flatten(1)  # (examples, values)
    distances = torch.cdist(decoded.flatten(1).float(), pool)  # (codes, examples)
    return (distances.min(dim=1).values / math.sqrt(pool.shape[1])).mean().item()


@torch.no_grad()
def reconstruction_error(model, data) -> float:
    """Mean squared difference per value between the test inputs and the model's outputs."""
    x = data.x_test
    total = 0.0
    for part in chunks(model, len(x), most=256):
        total += (model(x[part]).float() - x[part]).pow(2).sum().item()
    return total / x.numel()


MODEL_QUANTITIES = {"sample_distance": sample_distance,
                    "reconstruction_error": reconstruction_error}
