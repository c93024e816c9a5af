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
