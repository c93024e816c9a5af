"""Attention maps for every MultiheadAttention (bare or inside a TransformerEncoderLayer).

TransformerEncoderLayer calls its attention with need_weights=False. A pre-hook on the attention
module flips that flag (and asks for per-head weights) for this one forward only; attaching a hook also
turns off torch's fused encoder fast path, so the weights come from the same math as the output.
"""
import inspect

import torch
from torch import nn

from trainers.probes.hooks import hooked, node_modules, probing

_MHA_SIGNATURE = inspect.signature(nn.MultiheadAttention.forward)


def _ask_for_weights(_module, args, kwargs):
    bound = _MHA_SIGNATURE.bind(_module, *args, **kwargs)
    bound.arguments["need_weights"] = True
    bound.arguments["average_attn_weights"] = False
    del bound.arguments["self"]
    return (), dict(bound.arguments)


def _attention_modules(model: nn.Module) -> dict[str, nn.MultiheadAttention]:
    """Node id -> its attention module; a node with several is keyed 'node/sub.path'."""
    found = {}
    for node_id, module in node_modules(model).items():
        inner = [(name, m) for name, m in module.named_modules() if isinstance(m, nn.MultiheadAttention)]
        for name, mha in inner:
            found[node_id if len(inner) == 1 else f"{node_id}/{name}"] = mha
    return found


@torch.no_grad()
def attention_maps(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
    """Per attention node, the first sample's weights: (heads, target_len, source_len), rows sum to 1."""
    captured: dict[str, torch.Tensor] = {}

    def keep(key):
        def hook(_module, _args, output):
            weights = output[1]  # (N, heads, T, S) because average_attn_weights=False
            captured[key] = weights[0].detach().float().cpu()
        return hook

    handles = []
    for key, mha in _attention_modules(model).items():
        handles.append(mha.register_forward_pre_hook(_ask_for_weights, with_kwargs=True))
        handles.append(mha.register_forward_hook(keep(key)))
    with probing(model), hooked(handles):
        model(*inputs)
    return captured
