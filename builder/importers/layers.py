"""Catalog params from weight shapes and source attributes, shared by the ONNX and .pt2 readers."""
import torch

from builder.importers.graph_builder import GraphBuilder


def one_or_list(values) -> int | list[int]:
    """(3, 3) -> 3, (3, 5) -> [3, 5]: the catalog's int-or-per-dimension params."""
    values = [int(v) for v in values]
    return values[0] if len(set(values)) == 1 else values


def linear(b: GraphBuilder, op: str, x: str, out: str, weight: torch.Tensor,
           bias: torch.Tensor | None, name: str) -> None:
    """weight is torch's (out_features, in_features)."""
    tensors = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    b.layer(op, "Linear", [x], out, {"out_features": int(weight.shape[0]), "bias": bias is not None},
            tensors, name)


def conv(b: GraphBuilder, op: str, x: str, out: str, weight: torch.Tensor,
         bias: torch.Tensor | None, name: str, *, stride, padding, dilation, groups: int,
         transposed: bool = False, output_padding=0) -> bool:
    """Conv1d/Conv2d/ConvTranspose2d from torch's weight layout; False if the catalog has none
    of that rank."""
    rank = weight.dim() - 2
    type_ = {(1, False): "Conv1d", (2, False): "Conv2d", (2, True): "ConvTranspose2d"}.get(
        (rank, transposed))
    if type_ is None:
        return False
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    params = {"out_channels": int(out_channels), "kernel_size": one_or_list(weight.shape[2:]),
              "stride": one_or_list(stride), "padding": one_or_list(padding),
              "dilation": one_or_list(dilation), "groups": int(groups), "bias": bias is not None}
    if transposed:
        params["output_padding"] = one_or_list(output_padding)
    tensors = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    b.layer(op, type_, [x], out, params, tensors, name)
    return True


def batch_norm(b: GraphBuilder, op: str, x: str, out: str, rank: int | None, tensors: dict,
               eps: float, momentum: float, name: str) -> bool:
    """rank: the input's per-sample rank (1 or 2 -> BatchNorm1d, 3 -> BatchNorm2d)."""
    type_ = {1: "BatchNorm1d", 2: "BatchNorm1d", 3: "BatchNorm2d"}.get(rank)
    if type_ is None:
        return False
    tensors = dict(tensors, num_batches_tracked=torch.tensor(0))
    b.layer(op, type_, [x], out, {"eps": float(eps), "momentum": float(momentum)}, tensors, name)
    return True


def pool(b: GraphBuilder, op: str, kind: str, x: str, out: str, *, kernel, stride, padding,
         ceil_mode: bool) -> bool:
    """kind "Max" or "Avg"; kernel's length picks 1d/2d."""
    type_ = f"{kind}Pool{len(kernel)}d"
    if type_ not in ("MaxPool1d", "MaxPool2d", "AvgPool2d"):
        return False
    b.layer(op, type_, [x], out, {"kernel_size": one_or_list(kernel),
                                  "stride": one_or_list(stride or kernel),
                                  "padding": one_or_list(padding), "ceil_mode": bool(ceil_mode)})
    return True


def reshape(b: GraphBuilder, op: str, x: str, out: str, in_shape, out_shape) -> bool:
    """A view to a known per-sample shape: Flatten when it makes one dimension."""
    if out_shape is None or any(d is None for d in out_shape):
        return False
    if len(out_shape) == 1 and in_shape is not None and len(in_shape) > 1:
        b.layer(op, "Flatten", [x], out, {})
    else:
        b.layer(op, "Reshape", [x], out, {"shape": [int(d) for d in out_shape]})
    return True


def recurrent_params(type_: str, state: dict) -> dict | None:
    """LSTM/GRU params from its torch state dict (`weight_ih_l0`, `..._reverse`, `bias_hh_l1`):
    sizes, layers, directions and bias all follow from the keys and shapes."""
    gates = {"LSTM": 4, "GRU": 3}[type_]
    layers_ = sum(1 for key in state if key.startswith("weight_ih_l") and "reverse" not in key)
    hidden = state["weight_hh_l0"].shape[1] if "weight_hh_l0" in state else 0
    if not layers_ or state["weight_hh_l0"].shape[0] != gates * hidden:
        return None
    return {"hidden_size": int(hidden), "num_layers": layers_, "bias": "bias_ih_l0" in state,
            "bidirectional": "weight_ih_l0_reverse" in state}


def attention_params(state: dict, head_dim: int) -> dict | None:
    """MultiheadAttention params from its torch state dict (packed `in_proj_weight`,
    `out_proj.*`) and the head size its score scale gives."""
    if "in_proj_weight" not in state or "out_proj.weight" not in state or head_dim < 1:
        return None  # separate q/k/v projections (kdim != embed_dim) are not read yet
    embed_dim = state["out_proj.weight"].shape[0]
    if embed_dim % head_dim or set(state) - {"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                             "out_proj.bias"}:
        return None  # add_bias_kv's bias_k/bias_v have no catalog param
    return {"num_heads": embed_dim // head_dim, "bias": "in_proj_bias" in state}


def layer_norm(b: GraphBuilder, op: str, x: str, out: str, normalized_shape: list[int],
               eps: float, weight, bias, name: str) -> bool:
    """LayerNorm with or without its affine weights (torch has both or neither)."""
    if (weight is None) != (bias is None):
        return False
    affine = weight is not None
    b.layer(op, "LayerNorm", [x], out, {"normalized_shape": [int(d) for d in normalized_shape],
                                        "eps": float32_round(eps), "elementwise_affine": affine},
            {"weight": weight, "bias": bias} if affine else None, name)
    return True


def embedding(b: GraphBuilder, op: str, x: str, out: str, weight, padding_idx: int | None,
              name: str) -> bool:
    vocab, width = weight.shape
    params = {"num_embeddings": int(vocab), "embedding_dim": int(width)}
    if padding_idx is not None:
        params["padding_idx"] = int(padding_idx)
    b.layer(op, "Embedding", [x], out, params, {"weight": weight}, name)
    return True


def float32_round(value: float) -> float:
    """ONNX stores eps as float32 (1e-5 -> 9.9999997e-06): give back the decimal it came from."""
    return float(f"{float(value):.7g}")
