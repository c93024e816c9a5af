"""Shape arithmetic shared by several layer declarations (torch's formulas, per sample)."""
from math import isqrt

from builder.catalog.registry import NodeCall, fmt
from builder.params import ParamSpec
from builder.report import Fix

SPATIAL = {1: "(channels, length)", 2: "(channels, height, width)"}


def require_spatial(call: NodeCall, dims: int) -> None:
    """A channels-first input with `dims` spatial axes. A flat vector that reads as one channel
    (a square image for 2-d, e.g. 784 -> (1, 28, 28)) gets an Unflatten fix."""
    if len(call.shape) == dims + 1:
        return
    sizes = None
    if len(call.shape) == 1:
        size, side = call.shape[0], isqrt(call.shape[0])
        sizes = [1, size] if dims == 1 else ([1, side, side] if side * side == size else None)
    if sizes is None:
        call.fail(SPATIAL[dims])
    target = fmt(tuple(sizes))
    fix = Fix("insert_before", call.id, f"Insert Unflatten to {target} before {call.id}",
              layer_type="Unflatten", params={"dim": 1, "unflattened_size": sizes})
    call.fail(SPATIAL[dims], f"insert Unflatten to {target} before it?", fix=fix)


def per_dim(call: NodeCall, name: str, dims: int) -> tuple[int, ...]:
    """kernel_size=3 -> (3, 3) for a 2-d layer; a list must have one entry per spatial dim."""
    value = call.params[name]
    if isinstance(value, int):
        return (value,) * dims
    if len(value) != dims:
        call.error(f"{name} needs {dims} value(s) for a {dims}-d layer, got {value}", name)
    return tuple(value)


def sliding_out(call: NodeCall, sizes: tuple[int, ...], dims: int, *, stride_default=None,
                dilation: bool = True) -> tuple[int, ...]:
    """Output sizes of a convolution or pooling window: floor((L + 2p - d(k-1) - 1) / s) + 1.

    padding may be "same" (output = input, stride 1 only) or "valid" (no padding).
    stride_default="kernel" gives pooling's default stride (= kernel_size when stride is None).
    """
    kernel = per_dim(call, "kernel_size", dims)
    if call.params.get("stride") is None and stride_default == "kernel":
        stride = kernel
    else:
        stride = per_dim(call, "stride", dims)
    dil = per_dim(call, "dilation", dims) if dilation else (1,) * dims
    padding = call.params.get("padding", 0)
    if padding == "same":
        if any(s != 1 for s in stride):
            call.error("padding='same' needs stride 1 (torch rule)", "padding")
        return sizes
    pad = (0,) * dims if padding == "valid" else per_dim(call, "padding", dims)
    ceil = call.params.get("ceil_mode", False)
    out = tuple(_window_count(size, k, s, p, d, ceil)
                for size, k, s, p, d in zip(sizes, kernel, stride, pad, dil))
    if min(out) < 1:
        span = " x ".join(map(str, sizes))
        call.error(f"its window (kernel_size {call.params['kernel_size']}) does not fit the "
                   f"{span} input; use a smaller kernel, padding, or fewer pooling layers",
                   "kernel_size")
    return out


def _window_count(size: int, kernel: int, stride: int, pad: int, dilation: int,
                  ceil: bool) -> int:
    """Windows along one axis. ceil_mode (pooling) counts a last partial window, except one
    that would start in the right padding (torch's pooling_output_shape)."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if not ceil:
        return span // stride + 1
    count = -(-span // stride) + 1
    return count - 1 if (count - 1) * stride >= size + pad else count


def batch_dim(call: NodeCall, name: str, rank: int) -> int:
    """Normalise a torch dim (batch = 0) of a rank-`rank` per-sample tensor; never the batch."""
    call.require_features()
    dim = call.params[name]
    full_rank = rank + 1
    if not -full_rank <= dim < full_rank:
        call.error(f"{name}={dim} is out of range for a tensor of {full_rank} dims "
                   "(batch included)", name)
    if dim % full_rank == 0:
        call.error(f"{name}={dim} is the batch dimension; use 1 for the first per-sample dim",
                   name)
    return dim % full_rank


# Parameters many layers share, declared once so their docs read the same everywhere.
def kernel_param(default=3) -> ParamSpec:
    return ParamSpec("kernel_size", "ints", default, "Window size (one number, or one per axis).",
                     min=1, max=1024)


def stride_param(default=1) -> ParamSpec:
    doc = "Step between windows." + (" Empty: same as kernel_size." if default is None else "")
    return ParamSpec("stride", "ints", default, doc, min=1, max=1024)


def padding_param(allow_same: bool = True) -> ParamSpec:
    return ParamSpec("padding", "ints", 0, "Zeros added on each side ('same' keeps the size).",
                     min=0, max=1024, choices=("same", "valid") if allow_same else ())


def dilation_param() -> ParamSpec:
    return ParamSpec("dilation", "ints", 1, "Spacing between kernel taps.", min=1, max=64)


def bias_param() -> ParamSpec:
    return ParamSpec("bias", "bool", True, "Learn an additive bias.")


def dropout_param(default=0.0, doc="Fraction of values zeroed while training.") -> ParamSpec:
    return ParamSpec("dropout", "float", default, doc, min=0.0, max=1.0)


def size_param(name: str, default: int, doc: str) -> ParamSpec:
    return ParamSpec(name, "int", default, doc, min=1, max=1 << 24)


def inferred_param(name: str, doc: str) -> ParamSpec:
    return ParamSpec(name, "int", None, doc, min=1, max=1 << 24, inferred=True)
