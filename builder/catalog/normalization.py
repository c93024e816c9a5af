"""Normalization (BatchNorm1d/2d, LayerNorm) and regularization (Dropout, Dropout2d)."""
from math import prod

from builder.catalog.common import inferred_param
from builder.catalog.registry import LayerSpec, NodeCall, fmt, register
from builder.params import ParamSpec


def _eps_param() -> ParamSpec:
    return ParamSpec("eps", "float", 1e-5, "Small constant that avoids dividing by zero.",
                     min=0.0, max=1.0)


def _batchnorm_shape(ranks: tuple[int, ...], expected: str):
    def rule(call: NodeCall):
        call.require_rank(*ranks, meaning=expected)
        call.infer("num_features", call.shape[0])
        return call.shape
    return rule


def _batchnorm_cost(params, inputs, out):
    return (2 * params["num_features"] if params["affine"] else 0), 2 * prod(out)


def _batchnorm_params():
    return (inferred_param("num_features", "Channels or features (follows from the input)."),
            _eps_param(),
            ParamSpec("momentum", "float", 0.1, "How fast the running statistics follow the "
                      "batches.", min=0.0, max=1.0),
            ParamSpec("affine", "bool", True, "Learn a scale and shift per channel."))


register(LayerSpec(
    "BatchNorm1d", "Normalization", "Normalises each feature over the batch (features or "
    "(channels, length)).", _batchnorm_shape((1, 2), "(features,) or (channels, length)"),
    cost=_batchnorm_cost, params=_batchnorm_params()))
register(LayerSpec(
    "BatchNorm2d", "Normalization", "Normalises each image channel over the batch.",
    _batchnorm_shape((3,), "(channels, height, width)"),
    cost=_batchnorm_cost, params=_batchnorm_params()))


def _layernorm_shape(call: NodeCall):
    call.require_features()
    given = call.params["normalized_shape"]
    if given is None:
        call.params["normalized_shape"] = [call.shape[-1]]  # Keras-like: the last dimension
    elif tuple(given) != call.shape[len(call.shape) - len(given):]:
        call.fail(f"trailing dims {fmt(tuple(given))} (normalized_shape)",
                  field="normalized_shape")
    return call.shape


def _layernorm_cost(params, inputs, out):
    weights = 2 * prod(params["normalized_shape"]) if params["elementwise_affine"] else 0
    return weights, 5 * prod(out)


register(LayerSpec(
    "LayerNorm", "Normalization", "Normalises each sample's last dimension (transformers).",
    _layernorm_shape, cost=_layernorm_cost,
    params=(ParamSpec("normalized_shape", "shape", None, "Trailing dims to normalise (follows "
                      "from the input: the last one).", min=1, max=1 << 24, inferred=True),
            _eps_param(),
            ParamSpec("elementwise_affine", "bool", True, "Learn a scale and shift."))))


def _dropout_p() -> ParamSpec:
    return ParamSpec("p", "float", 0.5, "Fraction of values zeroed while training.",
                     min=0.0, max=1.0)


register(LayerSpec(
    "Dropout", "Regularization", "Zeroes random values while training, against overfitting.",
    lambda call: call.shape, params=(_dropout_p(),)))


def _dropout2d_shape(call: NodeCall):
    call.require_rank(3, meaning="(channels, height, width)")
    return call.shape


register(LayerSpec(
    "Dropout2d", "Regularization", "Zeroes whole random channels of an image while training.",
    _dropout2d_shape, params=(_dropout_p(),)))
