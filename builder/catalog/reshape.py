"""Reshaping: Flatten, Unflatten, Reshape (per sample) and Upsample."""
from math import floor, prod

from builder.catalog.common import batch_dim
from builder.catalog.registry import LayerSpec, NodeCall, fmt, free_cost, register
from builder.params import ParamSpec


def _flatten_shape(call: NodeCall):
    rank = len(call.shape)
    start = batch_dim(call, "start_dim", rank) - 1  # per-sample indices from here on
    end = batch_dim(call, "end_dim", rank) - 1
    if end < start:
        call.error(f"end_dim comes before start_dim for a {fmt(call.shape)} input", "end_dim")
    return call.shape[:start] + (prod(call.shape[start:end + 1]),) + call.shape[end + 1:]


register(LayerSpec(
    "Flatten", "Reshape", "Unrolls each sample into one long vector (before Linear).",
    _flatten_shape, accepts="any", cost=free_cost,
    params=(ParamSpec("start_dim", "int", 1, "First dim to merge (0 is the batch).",
                      min=-8, max=8),
            ParamSpec("end_dim", "int", -1, "Last dim to merge (-1 = the last).",
                      min=-8, max=8))))


def _fill_wildcard(call: NodeCall, field: str, sizes: list[int], total: int) -> tuple[int, ...]:
    """Resolve one -1 entry so the sizes multiply to `total`, like torch.reshape."""
    if any(n == 0 or n < -1 for n in sizes) or sizes.count(-1) > 1:
        call.error(f"{field} {sizes} may hold positive sizes and at most one -1", field)
    known = prod(n for n in sizes if n != -1)
    if -1 in sizes and total % known == 0:
        sizes = [total // known if n == -1 else n for n in sizes]
    if prod(sizes) != total:
        call.fail(f"{total} values to fit {field} {sizes}", received=f"{fmt(call.shape)}",
                  field=field)
    return tuple(sizes)


def _unflatten_shape(call: NodeCall):
    dim = batch_dim(call, "dim", len(call.shape)) - 1
    sizes = _fill_wildcard(call, "unflattened_size", call.params["unflattened_size"],
                           call.shape[dim])
    return call.shape[:dim] + sizes + call.shape[dim + 1:]


register(LayerSpec(
    "Unflatten", "Reshape", "Splits one dimension into several, e.g. 784 -> (1, 28, 28).",
    _unflatten_shape, accepts="any", cost=free_cost,
    params=(ParamSpec("dim", "int", 1, "Dimension to split (0 is the batch).", min=-8, max=8),
            ParamSpec("unflattened_size", "shape", [1, 28, 28], "Sizes it splits into "
                      "(one may be -1).", min=-1, max=1 << 24))))


def _reshape_shape(call: NodeCall):
    return _fill_wildcard(call, "shape", call.params["shape"], prod(call.shape))


register(LayerSpec(
    "Reshape", "Reshape", "Gives each sample a new shape with the same number of values.",
    _reshape_shape, accepts="any", cost=free_cost, constructor="Reshape",
    params=(ParamSpec("shape", "shape", [-1], "New per-sample shape (one entry may be -1).",
                      min=-1, max=1 << 24),)))

_UPSAMPLE_RANKS = {"nearest": (2, 3), "linear": (2,), "bilinear": (3,)}


def _upsample_shape(call: NodeCall):
    mode = call.params["mode"]
    if len(call.shape) not in _UPSAMPLE_RANKS[mode]:
        expected = {"linear": "(channels, length)", "bilinear": "(channels, height, width)"}
        call.fail(expected.get(mode, "(channels, length) or (channels, height, width)"),
                  f"mode '{mode}'", field="mode")
    scale = call.params["scale_factor"]
    return call.shape[:1] + tuple(floor(size * scale) for size in call.shape[1:])


register(LayerSpec(
    "Upsample", "Reshape", "Enlarges a sequence or image by a scale factor (no weights).",
    _upsample_shape, params=(
        ParamSpec("scale_factor", "float", 2.0, "How much larger each side gets.",
                  min=0.01, max=64.0),
        ParamSpec("mode", "choice", "nearest", "How new values are filled in.",
                  choices=tuple(_UPSAMPLE_RANKS)))))


def _permute_shape(call: NodeCall):
    dims, rank = call.params["dims"], len(call.shape)
    if sorted(dims) != list(range(1, rank + 1)):
        order = ", ".join(map(str, range(1, rank + 1)))
        call.fail(f"dims to list {order} in a new order (the batch, dim 0, stays first)",
                  received=f"{fmt(call.shape)} with dims {dims}", field="dims")
    return tuple(call.shape[d - 1] for d in dims)


register(LayerSpec(
    "Permute", "Reshape", "Reorders dimensions: [2, 3, 1] turns (C, H, W) into (H, W, C).",
    _permute_shape, accepts="any", cost=free_cost, constructor="Permute",
    params=(ParamSpec("dims", "shape", [2, 1], "New order of the dims, numbered from 1 (0 is "
                      "the batch, which stays first).", min=1, max=8),)))


def _transpose_shape(call: NodeCall):
    rank = len(call.shape)
    first = batch_dim(call, "dim0", rank) - 1  # per-sample indices from here on
    second = batch_dim(call, "dim1", rank) - 1
    out = list(call.shape)
    out[first], out[second] = out[second], out[first]
    return tuple(out)


register(LayerSpec(
    "Transpose", "Reshape", "Swaps two dimensions, e.g. (channels, steps) <-> (steps, channels).",
    _transpose_shape, accepts="any", cost=free_cost, constructor="Transpose",
    params=(ParamSpec("dim0", "int", 1, "One dim to swap (0 is the batch).", min=-8, max=8),
            ParamSpec("dim1", "int", 2, "The other dim to swap.", min=-8, max=8))))
