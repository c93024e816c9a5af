"""Generative views: decode chosen latent codes, interpolate between two inputs, sample.

A hook on the bottleneck node replaces its output with the codes we want decoded, so any graph
(dense or convolutional autoencoder, VAE) decodes without being split into encoder and decoder.
"""
import torch
from torch import nn

from trainers.probes.activations import capture_activations
from trainers.probes.hooks import hooked, node_modules, probing


def latent_node(model: nn.Module) -> str:
    """The VAE's Reparameterize node, else the autoencoder's narrowest layer (its bottleneck)."""
    graph = model.graph
    reparameterize = [n.id for n in graph.nodes if n.type == "Reparameterize"]
    if reparameterize:
        return reparameterize[0]
    report = model.report
    inner = [n.id for n in graph.nodes if n.type not in ("Input", "Output")
             and n.id not in model.output_ids and report.nodes[n.id].output_shape]
    if not inner:
        raise ValueError("this graph has no inner layer to use as a latent code")
    return min(inner, key=lambda node_id: _numel(report.nodes[node_id].output_shape))


def _numel(shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


@torch.no_grad()
def decode(model: nn.Module, like: torch.Tensor, node_id: str, codes: torch.Tensor) -> torch.Tensor:
    """Outputs for `codes` (K, *code_shape) placed at `node_id`; `like` is any one valid input."""
    def replace(_module, _args, _output):
        return codes

    filler = like[:1].expand(len(codes), *like.shape[1:])  # (K, ...): the encoder's result is discarded
    module = node_modules(model)[node_id]
    with probing(model), hooked([module.register_forward_hook(replace)]):
        return model(filler).float().cpu()


def interpolate(model: nn.Module, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 8,
                node_id: str | None = None) -> torch.Tensor:
    """Decoded outputs along the straight line between the codes of two inputs: (steps, ...)."""
    node_id = node_id or latent_node(model)
    codes = capture_activations(model, (torch.cat([x_a[:1], x_b[:1]]),), [node_id])[node_id]
    weights = torch.linspace(0, 1, steps).view(-1, *[1] * (codes.dim() - 1))  # (steps, 1, ...)
    path = (1 - weights) * codes[:1] + weights * codes[1:2]
    return decode(model, x_a, node_id, path.to(x_a.device))


def sample_prior(model: nn.Module, like: torch.Tensor, count: int = 16, seed: int = 0) -> torch.Tensor:
    """A VAE's decoder applied to codes drawn from its N(0, 1) prior: (count, ...)."""
    node_id = latent_node(model)
    code_shape = model.report.nodes[node_id].output_shape
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randn(count, *code_shape, generator=generator).to(like.device)
    return decode(model, like, node_id, codes)


def model_inputs(model: nn.Module, data: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Every Input of the graph for a batch of `data`: `data` where an Input takes its shape, seeded
    noise elsewhere (a GAN graph's generator reads noise `z` beside the discriminator's `image`)."""
    generator = torch.Generator().manual_seed(seed)
    inputs = []
    for node_id in model.input_ids:
        shape = tuple(model.report.nodes[node_id].output_shape)
        inputs.append(data if shape == tuple(data.shape[1:])
                      else torch.randn(len(data), *shape, generator=generator).to(data.device))
    return tuple(inputs)


def _gan_outputs(outputs) -> tuple[torch.Tensor, torch.Tensor]:
    """(generated images, discriminator logits (N,)) from the whole GAN graph's outputs."""
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    scores = [o for o in outputs if o[0].numel() == 1]
    images = [o for o in outputs if o[0].numel() > 1]
    if len(scores) != 1 or len(images) != 1:
        raise ValueError("a GAN graph has one output of images (the generator's) and one score "
                         "per image (the discriminator's)")
    return images[0], scores[0].reshape(-1)


@torch.no_grad()
def generate(model: nn.Module, count: int = 16, seed: int = 0) -> torch.Tensor:
    """A GAN graph's generator output for random noise (the Inputs that take no image)."""
    generator = torch.Generator().manual_seed(seed)
    shapes = [model.report.nodes[node_id].output_shape for node_id in model.input_ids]
    inputs = [torch.randn(count, *shape, generator=generator) for shape in shapes]
    with probing(model):
        outputs = model(*inputs)
    if isinstance(outputs, tuple) and len(outputs) == 2:
        return _gan_outputs(outputs)[0].float().cpu()
    return (outputs[0] if isinstance(outputs, tuple) else outputs).float().cpu()


@torch.no_grad()
def realness(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """A GAN graph's discriminator verdict on `images` (N, C, H, W): P(real) per image, (N,)."""
    with probing(model):
        _, logits = _gan_outputs(model(*model_inputs(model, images)))
    return torch.sigmoid(logits.float()).cpu()
