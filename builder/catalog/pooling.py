"""Pooling: max and average windows, adaptive average, and MeanPool over one dimension."""
from math import prod

from builder.catalog.common import (batch_dim, kernel_param, padding_param, per_dim,
                                    require_spatial, sliding_out, stride_param)
from builder.catalog.registry import LayerSpec, NodeCall, register
from builder.params import ParamSpec

def _pool_shape(dims: int):
    def rule(call: NodeCall):
        require_spatial(call, dims)
        kernel, pad = per_dim(call, "kernel_size", dims), per_dim(call, "padding", dims)
        if any(p > k // 2 for k, p in zip(kernel, pad)):
            call.error("padding must be at most half of kernel_size (torch rule)", "padding")
        return call.shape[:1] + sliding_out(call, call.shape[1:], dims, stride_default="kernel",
                                            dilation=False)
    return rule


def _window_cost(params, inputs, out):
    kernel = params["kernel_size"]
    taps = kernel ** (len(out) - 1) if isinstance(kernel, int) else prod(kernel)
    return 0, prod(out) * taps


def _pool_params():
    return (kernel_param(2), stride_param(None), padding_param(allow_same=False),
            ParamSpec("ceil_mode", "bool", False, "Keep a last window that sticks out past the "
                      "edge (rounds the output size up)."))


register(LayerSpec(
    "MaxPool1d", "Pooling", "Keeps the largest value in each window of a sequence.",
    _pool_shape(1), cost=_window_cost, params=_pool_params()))
register(LayerSpec(
    "MaxPool2d", "Pooling", "Keeps the largest value in each window: halves the image at 2.",
    _pool_shape(2), cost=_window_cost, params=_pool_params()))
register(LayerSpec(
    "AvgPool2d", "Pooling", "Averages each window of an image.",
    _pool_shape(2), cost=_window_cost, params=_pool_params()))


def _adaptive_shape(call: NodeCall):
    require_spatial(call, 2)
    return call.shape[:1] + per_dim(call, "output_size", 2)


register(LayerSpec(
    "AdaptiveAvgPool2d", "Pooling", "Averages an image down to a fixed size, whatever comes in.",
    _adaptive_shape, cost=lambda params, inputs, out: (0, prod(inputs[0])),
    params=(ParamSpec("output_size", "ints", 1, "Output height and width (1 = global average).",
                      min=1, max=4096),)))


def _mean_shape(call: NodeCall):
    dim = batch_dim(call, "dim", len(call.shape)) - 1  # index into the per-sample shape
    return call.shape[:dim] + call.shape[dim + 1:]


register(LayerSpec(
    "MeanPool", "Pooling", "Averages over one dimension, e.g. the time steps of a sequence.",
    _mean_shape, constructor="MeanPool", cost=lambda params, inputs, out: (0, prod(inputs[0])),
    params=(ParamSpec("dim", "int", 1, "Dimension to average over (1 = time steps of "
                      "(steps, features)).", min=-8, max=8),)))
