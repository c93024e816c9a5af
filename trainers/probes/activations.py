"""Activations per node: raw captures, conv feature maps, first-layer filters, summary statistics."""
import torch
from torch import nn

from trainers.probes.hooks import hooked, node_modules, probing

_RECTIFIERS = (nn.ReLU, nn.LeakyReLU)


def _first_tensor(output):
    """Recurrent layers return (sequence, state); attention returns (output, weights)."""
    return output[0] if isinstance(output, tuple) else output


@torch.no_grad()
def capture_activations(model: nn.Module, inputs: tuple[torch.Tensor, ...],
                        node_ids: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Run `model(*inputs)` once and return each chosen node's output (detached, on the CPU)."""
    modules = node_modules(model)
    wanted = list(modules) if node_ids is None else [n for n in node_ids if n in modules]
    captured: dict[str, torch.Tensor] = {}

    def keep(node_id):
        def hook(_module, _args, output):
            captured[node_id] = _first_tensor(output).detach().float().cpu()
        return hook

    with probing(model), hooked([modules[n].register_forward_hook(keep(n)) for n in wanted]):
        model(*inputs)
    return {n: captured[n] for n in wanted if n in captured}


def feature_maps(model: nn.Module, inputs: tuple[torch.Tensor, ...], node_id: str) -> torch.Tensor:
    """Channel maps of one node for the first sample: (C, H, W); a (C, L) output becomes (C, 1, L)."""
    activation = capture_activations(model, inputs, [node_id]).get(node_id)
    if activation is None:
        raise KeyError(f"node '{node_id}' produced no output in this forward pass")
    sample = activation[0]  # (C, H, W) or (C, L)
    if sample.dim() == 2:
        sample = sample.unsqueeze(1)  # (C, L) -> (C, 1, L)
    if sample.dim() != 3:
        raise ValueError(f"node '{node_id}' outputs {tuple(sample.shape)} per sample, not channel maps")
    return sample


def first_layer_filters(model: nn.Module) -> tuple[str, torch.Tensor] | None:
    """The first 2-D convolution's weights (out, in, kh, kw), or None when the model has none."""
    for node_id, module in node_modules(model).items():
        if isinstance(module, nn.Conv2d):
            return node_id, module.weight.detach().float().cpu()
    return None


def first_dense_on_image(model: nn.Module) -> tuple[str, torch.Tensor, tuple[int, ...]] | None:
    """The first Linear that reads an image Input flattened (an MLP on images): its node id, its
    (out, C*H*W) weights and the image's (C, H, W) shape; None when there is no such layer."""
    report = model.report
    images = {node_id: tuple(report.nodes[node_id].output_shape) for node_id in model.input_ids
              if len(report.nodes[node_id].output_shape) == 3}
    for node in model.graph.nodes:
        info = report.nodes[node.id]
        if node.type != "Linear" or not info.inputs:
            continue
        source = report.nodes[info.inputs[0]]
        if source.type == "Flatten" and source.inputs and source.inputs[0] in images:
            weight = model.node_module(node.id).weight.detach().float().cpu()
            return node.id, weight, images[source.inputs[0]]
    return None


def activation_stats(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[dict]:
    """Per node: mean, std and, after rectifiers, the fraction of units dead on every sample."""
    modules = node_modules(model)
    rows = []
    for node_id, act in capture_activations(model, inputs).items():
        row = {"node": node_id, "type": type(modules[node_id]).__name__,
               "mean": act.mean().item(), "std": act.std().item() if act.numel() > 1 else 0.0,
               "dead_fraction": None}
        if isinstance(modules[node_id], _RECTIFIERS) and act.dim() >= 2:
            never_active = (act <= 0).all(dim=0)  # (features...): silent for the whole batch
            row["dead_fraction"] = never_active.float().mean().item()
        rows.append(row)
    return rows
