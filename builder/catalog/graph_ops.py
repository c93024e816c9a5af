"""Graph-level nodes: Input, Output, Identity, the merges (Add, Multiply, Concat) and the VAE's
Reparameterize."""
from math import prod

from builder.catalog.common import batch_dim
from builder.catalog.registry import LayerSpec, NodeCall, fmt, free_cost, register
from builder.params import ParamSpec


def _input_shape(call: NodeCall):
    call.out_dtype = call.params["dtype"]
    return tuple(call.params["shape"])


def _same_shape(call: NodeCall):
    return call.shape


register(LayerSpec(
    "Input", "Input/Output", "Where data enters: one sample's shape, without the batch.",
    _input_shape, ports=(), min_inputs=0, accepts="any", cost=free_cost, constructor="nn.Identity",
    params=(ParamSpec("shape", "shape", [1, 28, 28], "Shape of one sample, e.g. [1, 28, 28].",
                      min=1, max=1 << 20, ctor=False),
            ParamSpec("dtype", "dtype", "float", "float for measurements and pixels, long for "
                      "token ids feeding an Embedding.", ctor=False))))

register(LayerSpec(
    "Output", "Input/Output", "Marks a model output (without one, every dead end is an output).",
    _same_shape, accepts="any", cost=free_cost, constructor="nn.Identity"))

register(LayerSpec(
    "Identity", "Reshape", "Passes its input through unchanged.",
    _same_shape, accepts="any", cost=free_cost))


def _broadcast_shape(call: NodeCall):
    """Torch broadcasting between per-sample shapes of equal rank (sizes equal or 1)."""
    received = " and ".join(fmt(s) for s in call.shapes)
    if len({len(s) for s in call.shapes}) > 1:
        call.fail("inputs of the same rank", received=received)
    out = []
    for sizes in zip(*call.shapes):
        larger = {n for n in sizes if n != 1}
        if len(larger) > 1:
            call.fail("inputs of the same shape", received=received)
        out.append(larger.pop() if larger else 1)
    return tuple(out)


def _merge_cost(params, inputs, out):
    return 0, prod(out) * (len(inputs) - 1)


for _type, _verb in (("Add", "Adds"), ("Multiply", "Multiplies")):
    register(LayerSpec(
        _type, "Merge", f"{_verb} its inputs element by element (a skip connection, a gate).",
        _broadcast_shape, ports=("inputs",), min_inputs=2, variadic=True, accepts="any",
        cost=_merge_cost, constructor=_type))


def _concat_shape(call: NodeCall):
    received = " and ".join(fmt(s) for s in call.shapes)
    rank = len(call.shape)
    if any(len(s) != rank for s in call.shapes):
        call.fail("inputs of the same rank", received=received)
    dim = batch_dim(call, "dim", rank) - 1  # index into the per-sample shape
    for axis in range(rank):
        if axis != dim and len({s[axis] for s in call.shapes}) > 1:
            call.fail(f"inputs that differ only along dim {dim + 1}", received=received,
                      field="dim")
    return call.shape[:dim] + (sum(s[dim] for s in call.shapes),) + call.shape[dim + 1:]


register(LayerSpec(
    "Concat", "Merge", "Joins its inputs side by side along one dimension (1 = channels).",
    _concat_shape, ports=("inputs",), min_inputs=2, variadic=True, accepts="any",
    cost=free_cost, constructor="Concat",
    params=(ParamSpec("dim", "int", 1, "Dimension to join along; 0 is the batch, so 1 is the "
                      "first per-sample dimension.", min=-8, max=8),)))


def _reparameterize_shape(call: NodeCall):
    mu, logvar = call.shapes
    if mu != logvar:
        call.fail("mu and logvar of the same shape", received=f"{fmt(mu)} and {fmt(logvar)}")
    return mu


register(LayerSpec(
    "Reparameterize", "Generative", "VAE: samples z from mu and logvar; adds the KL term to the "
    "loss.", _reparameterize_shape, ports=("mu", "logvar"), min_inputs=2,
    cost=lambda params, inputs, out: (0, 4 * prod(out)), constructor="Reparameterize"))
