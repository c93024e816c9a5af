"""Activations: element-wise non-linearities (any shape in, same shape out) and the softmaxes."""
from math import prod

from builder.catalog.common import batch_dim
from builder.catalog.registry import LayerSpec, NodeCall, register
from builder.params import ParamSpec


def _same_shape(call: NodeCall):
    return call.shape


_ELEMENTWISE = {
    "ReLU": ("max(0, x): the default choice for hidden layers.", ()),
    "ReLU6": ("ReLU capped at 6: min(max(0, x), 6). MobileNet's activation.", ()),
    "LeakyReLU": ("Like ReLU but lets a little through below zero.",
                  (ParamSpec("negative_slope", "float", 0.01, "Slope below zero.",
                             min=0.0, max=1.0),)),
    "ELU": ("Smooth ReLU that goes negative down to -alpha.",
            (ParamSpec("alpha", "float", 1.0, "Value approached for very negative inputs.",
                       min=0.0, max=100.0),)),
    "GELU": ("Smooth ReLU used by transformers.",
             (ParamSpec("approximate", "choice", "none", "'tanh' uses a faster approximation.",
                        choices=("none", "tanh")),)),
    "SiLU": ("x * sigmoid(x), also called swish.", ()),
    "Mish": ("x * tanh(softplus(x)): a smooth ReLU, like SiLU.", ()),
    "Hardswish": ("A cheap SiLU made of straight pieces (MobileNetV3).", ()),
    "Hardsigmoid": ("A cheap Sigmoid made of straight pieces: 0 below -3, 1 above 3.", ()),
    "Sigmoid": ("Squashes to 0..1: probabilities, pixel reconstructions.", ()),
    "Tanh": ("Squashes to -1..1.", ()),
}

for _type, (_doc, _params) in _ELEMENTWISE.items():
    register(LayerSpec(_type, "Activation", _doc, _same_shape, params=_params))


def _hardtanh_shape(call: NodeCall):
    low, high = call.params["min_val"], call.params["max_val"]
    if low >= high:
        call.error(f"min_val ({low}) must be below max_val ({high})", "max_val")
    return call.shape


register(LayerSpec(
    "Hardtanh", "Activation", "Clips values to min_val..max_val (ReLU6 is 0..6).",
    _hardtanh_shape,
    params=(ParamSpec("min_val", "float", -1.0, "Values below this become it.",
                      min=-1e6, max=1e6),
            ParamSpec("max_val", "float", 1.0, "Values above this become it.",
                      min=-1e6, max=1e6))))


def _softmax_shape(call: NodeCall):
    batch_dim(call, "dim", len(call.shape))
    return call.shape


for _type, _doc in (("Softmax", "Turns scores into probabilities that sum to 1 along dim."),
                    ("LogSoftmax", "Log of Softmax (pairs with NLL loss).")):
    register(LayerSpec(
        _type, "Activation", _doc, _softmax_shape,
        cost=lambda params, inputs, out: (0, 3 * prod(out)),
        params=(ParamSpec("dim", "int", -1, "Dimension that sums to 1 (-1 = last).",
                          min=-8, max=8),)))
