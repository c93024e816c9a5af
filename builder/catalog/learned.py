"""Free learned tensors: a learned positional embedding and the general Parameter node (class
token, layer scale, learned bias)."""
from math import prod

from builder.catalog.registry import LayerSpec, NodeCall, fmt, register
from builder.params import ParamSpec


def _positional_shape(call: NodeCall):
    call.require_rank(2, meaning="(steps, features)")
    steps, width = call.shape
    call.infer("embedding_dim", width)
    given = call.params["num_positions"]
    if given is None:
        call.params["num_positions"] = steps
    elif given < steps:
        call.error(f"num_positions ({given}) is less than the {steps} steps it receives",
                   "num_positions")
    return call.shape


register(LayerSpec(
    "PositionalEmbedding", "Dense", "Adds a learned vector per position, so order matters "
    "(GPT, BERT, ViT).", _positional_shape, constructor="PositionalEmbedding",
    cost=lambda params, inputs, out: (params["num_positions"] * params["embedding_dim"],
                                      prod(out)),
    params=(ParamSpec("num_positions", "int", None, "Longest sequence it can take (empty: the "
                      "input's steps).", min=1, max=1 << 20, inferred=True),
            ParamSpec("embedding_dim", "int", None, "Features per step (follows from the input).",
                      min=1, max=1 << 24, inferred=True))))


def _parameter_shape(call: NodeCall):
    own, shape = tuple(call.params["shape"]), call.shape
    received = f"{fmt(shape)} with a learned {fmt(own)}"
    if len(own) != len(shape):
        call.fail(f"an input of rank {len(own)} like shape {fmt(own)}", received=received,
                  field="shape")
    if call.params["combine"] == "prepend":
        if own[1:] != shape[1:]:
            call.fail(f"an input matching shape {fmt(own)} after dim 1", received=received,
                      field="shape")
        return (own[0] + shape[0],) + shape[1:]
    if any(a != b and a != 1 for a, b in zip(own, shape)):
        call.fail(f"an input that shape {fmt(own)} broadcasts to (sizes equal, or 1 in shape)",
                  received=received, field="shape")
    return shape


register(LayerSpec(
    "Parameter", "Dense", "A learned tensor added to, multiplied with, or put in front of its "
    "input.", _parameter_shape, constructor="Parameter",
    cost=lambda params, inputs, out: (prod(params["shape"]), prod(out)),
    params=(ParamSpec("shape", "shape", [1, 32], "Shape of the learned tensor, e.g. [1, 32] for "
                      "one class token of 32 features.", min=1, max=1 << 20),
            ParamSpec("combine", "choice", "add", "add: a learned bias; multiply: layer scale; "
                      "prepend: put it before the steps (class token).",
                      choices=("add", "multiply", "prepend")),
            ParamSpec("init", "choice", "zeros", "Starting values: zeros, ones, or small random "
                      "(normal, std 0.02).", choices=("zeros", "ones", "normal")))))
