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


class Permute(nn.Module):
    """Reorder the per-sample dims; `dims` number them from 1 as torch does (the batch, dim 0,
    stays first): dims=(2, 3, 1) turns (N, C, H, W) into (N, H, W, C)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x):
        return x.permute(0, *self.dims)


class Transpose(nn.Module):
    """Swap two dims (torch numbering, batch = 0): dim0=1, dim1=2 turns (N, C, L) into (N, L, C)."""

    def __init__(self, dim0=1, dim1=2):
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x):
        return x.transpose(self.dim0, self.dim1)


class PositionalEmbedding(nn.Module):
    """A learned vector per position added to a batch-first sequence (GPT, BERT, ViT):
    (N, T, E) + weight[:T]. Initialised like GPT-2 (normal, std 0.02)."""

    def __init__(self, num_positions, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_positions, embedding_dim) * 0.02)

    def forward(self, x):
        return x + self.weight[:x.shape[1]]  # (N, T, E) + (T, E)


class Parameter(nn.Module):
    """A learned tensor of per-sample shape `shape`, combined with the input: added, multiplied
    (layer scale) or prepended along dim 1 (a class token in front of the steps)."""

    def __init__(self, shape, combine="add", init="zeros"):
        super().__init__()
        self.combine = combine
        if init == "normal":
            values = torch.randn(*shape) * 0.02
        else:
            values = torch.full(tuple(shape), 1.0 if init == "ones" else 0.0)
        self.weight = nn.Parameter(values)

    def forward(self, x):
        if self.combine == "add":
            return x + self.weight
        if self.combine == "multiply":
            return x * self.weight
        front = self.weight.expand(x.shape[0], *self.weight.shape)  # (N, *shape)
        return torch.cat([front, x], dim=1)


class Opaque(nn.Module):
    """An imported operation with no catalog layer, computed by the torch function listed for
    `op` with the constant arguments the file recorded (dims, scalar, scalar2, keepdim). Any other
    op keeps its shape on the canvas but cannot compute: forward says so."""

    OPS = {
        "exp": lambda xs, a: torch.exp(xs[0]), "log": lambda xs, a: torch.log(xs[0]),
        "neg": lambda xs, a: torch.neg(xs[0]), "abs": lambda xs, a: torch.abs(xs[0]),
        "sqrt": lambda xs, a: torch.sqrt(xs[0]), "rsqrt": lambda xs, a: torch.rsqrt(xs[0]),
        "sin": lambda xs, a: torch.sin(xs[0]), "cos": lambda xs, a: torch.cos(xs[0]),
        "erf": lambda xs, a: torch.erf(xs[0]), "reciprocal": lambda xs, a: torch.reciprocal(xs[0]),
        "add_scalar": lambda xs, a: xs[0] + a["scalar"], "mul_scalar": lambda xs, a: xs[0] * a["scalar"],
        "sub_scalar": lambda xs, a: xs[0] - a["scalar"], "div_scalar": lambda xs, a: xs[0] / a["scalar"],
        "pow_scalar": lambda xs, a: torch.pow(xs[0], a["scalar"]),
        "clamp": lambda xs, a: torch.clamp(xs[0], a["scalar"], a["scalar2"]),
        "sub": lambda xs, a: xs[0] - xs[1], "div": lambda xs, a: xs[0] / xs[1],
        "maximum": lambda xs, a: torch.maximum(xs[0], xs[1]),
        "minimum": lambda xs, a: torch.minimum(xs[0], xs[1]),
        "cumsum": lambda xs, a: torch.cumsum(xs[0], dim=a["dims"][0]),
        "sum": lambda xs, a: torch.sum(xs[0], dim=a["dims"], keepdim=a["keepdim"]),
        "amax": lambda xs, a: torch.amax(xs[0], dim=a["dims"], keepdim=a["keepdim"]),
        "amin": lambda xs, a: torch.amin(xs[0], dim=a["dims"], keepdim=a["keepdim"]),
    }

    def __init__(self, op="", source_op="", dims=None, scalar=None, scalar2=None, keepdim=False):
        super().__init__()
        self.op, self.source_op = op, source_op
        self.args = {"dims": dims, "scalar": scalar, "scalar2": scalar2, "keepdim": keepdim}

    def forward(self, *inputs):
        if self.op not in self.OPS:
            raise NotImplementedError(f"{self.source_op or self.op} came from an imported model "
                                      "and cannot be computed here: replace it with layers")
        return self.OPS[self.op](inputs, self.args)
