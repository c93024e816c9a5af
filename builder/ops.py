"""The graph ops that have no torch.nn class, as small modules.

Every graph node is a submodule (so hooks and probes see merges too). The exported Python file
copies these classes verbatim (inspect.getsource), so they import nothing but torch.
"""
import torch
from torch import nn


class Add(nn.Module):
    """Element-wise sum of all inputs."""

    def forward(self, *inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Multiply(nn.Module):
    """Element-wise product of all inputs."""

    def forward(self, *inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Join inputs along `dim` (torch numbering: dim 0 is the batch, 1 the channels/features)."""

    def __init__(self, dim=1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs):
        return torch.cat(inputs, dim=self.dim)


class Reshape(nn.Module):
    """Give each sample the shape `shape` (one entry may be -1); the batch dimension is kept."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)  # (N, ...) -> (N, *shape)


class SelectTimestep(nn.Module):
    """One step of a batch-first sequence: (N, T, F) -> (N, F); index -1 is the last step."""

    def __init__(self, index=-1):
        super().__init__()
        self.index = index

    def forward(self, x):
        return x[:, self.index]


class MeanPool(nn.Module):
    """Average over `dim` (torch numbering), e.g. dim=1 pools the time steps of (N, T, F)."""

    def __init__(self, dim=1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.mean(dim=self.dim)


class Reparameterize(nn.Module):
    """VAE sampling: z = mu + exp(logvar / 2) * noise while training, z = mu in eval mode.

    Keeps the KL divergence from N(0, 1) of the last forward in `self.kl`: summed over a sample's
    features, averaged over the batch (add it to a reconstruction loss summed the same way).
    """

    def __init__(self):
        super().__init__()
        self.kl = None

    def forward(self, mu, logvar):
        self.kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]
        if not self.training:
            return mu
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
