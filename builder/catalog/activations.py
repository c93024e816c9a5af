"""Activations: element-wise non-linearities (any shape in, same shape out) and the softmaxes."""
from math import prod

from builder.catalog.common import batch_dim
from builder.catalog.registry import LayerSpec, NodeCall, register
from builder.params import ParamSpec


def _same_shape(call: NodeCall):
    return call.shape


_ELEMENTWISE = {
    "ReLU": ("max(0, x): the default choice for hidden layers.", ()),
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
    "Sigmoid": ("Squashes to 0..1: probabilities, pixel reconstructions.", ()),
    "Tanh": ("Squashes to -1..1.", ()),
}

for _type, (_doc, _params) in _ELEMENTWISE.items():
    register(LayerSpec(_type, "Activation", _doc, _same_shape, params=_params))


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
