"""Convolutions: Conv1d, Conv2d, ConvTranspose2d (channels first, like torch)."""
from math import prod

from builder.catalog.common import (bias_param, dilation_param, inferred_param, kernel_param,
                                    padding_param, per_dim, require_spatial, size_param,
                                    sliding_out, stride_param)
from builder.catalog.registry import LayerSpec, NodeCall, register
from builder.params import ParamSpec

def _check_groups(call: NodeCall):
    groups = call.params["groups"]
    for name in ("in_channels", "out_channels"):
        if call.params[name] % groups:
            call.error(f"{name} ({call.params[name]}) must be divisible by groups ({groups})",
                       "groups")


def _conv_shape(dims: int):
    def rule(call: NodeCall):
        require_spatial(call, dims)
        call.infer("in_channels", call.shape[0])
        _check_groups(call)
        return (call.params["out_channels"],) + sliding_out(call, call.shape[1:], dims)
    return rule


def _transpose_shape(call: NodeCall):
    require_spatial(call, 2)
    call.infer("in_channels", call.shape[0])
    _check_groups(call)
    kernel, stride, pad, extra, dil = (per_dim(call, name, 2) for name in (
        "kernel_size", "stride", "padding", "output_padding", "dilation"))
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dil)):
        call.error("output_padding must be smaller than stride or dilation", "output_padding")
    out = tuple((size - 1) * s - 2 * p + d * (k - 1) + e + 1
                for size, k, s, p, e, d in zip(call.shape[1:], kernel, stride, pad, extra, dil))
    if min(out) < 1:
        call.error(f"padding {call.params['padding']} leaves no output", "padding")
    return (call.params["out_channels"],) + out


def _conv_cost(transposed: bool):
    def cost(params, inputs, out):
        dims = len(out) - 1
        kernel = params["kernel_size"]
        taps = kernel ** dims if isinstance(kernel, int) else prod(kernel)
        c_in, c_out, groups = params["in_channels"], params["out_channels"], params["groups"]
        weights = c_in * c_out // groups * taps + (c_out if params["bias"] else 0)
        # Each output (or, transposed, each input) position does one multiply-add per weight.
        positions = prod(inputs[0][1:]) if transposed else prod(out[1:])
        return weights, 2 * positions * c_in * c_out // groups * taps
    return cost


def _conv_params(allow_same: bool = True, transposed: bool = False):
    extra = (ParamSpec("output_padding", "ints", 0, "Extra rows/columns on one side of the "
                       "output.", min=0, max=64),) if transposed else ()
    return (inferred_param("in_channels", "Input channels (follows from the input)."),
            size_param("out_channels", 32, "Number of filters (output channels)."),
            kernel_param(), stride_param(), padding_param(allow_same), *extra, dilation_param(),
            ParamSpec("groups", "int", 1, "Split channels into independent groups.",
                      min=1, max=1 << 16),
            bias_param())


register(LayerSpec(
    "Conv1d", "Convolution", "Slides learned filters along a sequence (channels, length).",
    _conv_shape(1), cost=_conv_cost(False), params=_conv_params()))
register(LayerSpec(
    "Conv2d", "Convolution", "Slides learned filters over an image (channels, height, width).",
    _conv_shape(2), cost=_conv_cost(False), params=_conv_params()))
register(LayerSpec(
    "ConvTranspose2d", "Convolution", "Learned upsampling: the reverse of a strided Conv2d.",
    _transpose_shape, cost=_conv_cost(True), params=_conv_params(False, transposed=True)))
