"""Recurrent layers (batch-first, emitting the whole output sequence) and SelectTimestep."""
from builder.catalog.common import bias_param, dropout_param, inferred_param, size_param
from builder.catalog.registry import LayerSpec, NodeCall, register
from builder.params import ParamSpec

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}  # weight blocks per layer (LSTM: i, f, g, o)


def _recurrent_shape(call: NodeCall):
    call.require_rank(2, meaning="(steps, features)")
    call.infer("input_size", call.shape[1])
    if call.params["dropout"] > 0 and call.params["num_layers"] == 1:
        call.error("dropout acts only between stacked layers: set num_layers to 2 or more, "
                   "or dropout to 0", "dropout")
    directions = 2 if call.params["bidirectional"] else 1
    return (call.shape[0], call.params["hidden_size"] * directions)


def _recurrent_cost(gates: int):
    def cost(params, inputs, out):
        hidden, directions = params["hidden_size"], 2 if params["bidirectional"] else 1
        steps, weights, flops = inputs[0][0], 0, 0
        layer_in = params["input_size"]
        for _ in range(params["num_layers"]):
            per_direction = gates * hidden * (layer_in + hidden)
            bias = 2 * gates * hidden if params["bias"] else 0  # torch keeps b_ih and b_hh
            weights += directions * (per_direction + bias)
            flops += directions * steps * 2 * per_direction
            layer_in = hidden * directions
        return weights, flops
    return cost


def _recurrent_params(kind: str):
    nonlinearity = (ParamSpec("nonlinearity", "choice", "tanh", "Activation inside the cell.",
                              choices=("tanh", "relu")),) if kind == "RNN" else ()
    return (inferred_param("input_size", "Features per step (follows from the input)."),
            size_param("hidden_size", 64, "Size of the hidden state (output features)."),
            ParamSpec("num_layers", "int", 1, "Stacked layers.", min=1, max=16),
            *nonlinearity, bias_param(),
            dropout_param(0.0, "Dropout between stacked layers while training."),
            ParamSpec("bidirectional", "bool", False, "Also read the sequence backwards "
                      "(doubles the output features)."))


_DOCS = {"RNN": "Simple recurrent layer: reads a sequence step by step.",
         "LSTM": "Long short-term memory: a recurrent layer that remembers across long gaps.",
         "GRU": "Gated recurrent unit: a lighter LSTM."}

for _type, _gates in _GATES.items():
    register(LayerSpec(
        _type, "Recurrent", _DOCS[_type], _recurrent_shape, cost=_recurrent_cost(_gates),
        params=_recurrent_params(_type), fixed_kwargs={"batch_first": True},
        forward="{module}({inputs})[0]"))


def _select_shape(call: NodeCall):
    call.require_rank(2, 3, meaning="a sequence (steps, features)")
    index, steps = call.params["index"], call.shape[0]
    if not -steps <= index < steps:
        call.error(f"index {index} is outside the {steps} steps", "index")
    return call.shape[1:]


register(LayerSpec(
    "SelectTimestep", "Recurrent", "Takes one step of a sequence (-1 = the last), e.g. after "
    "an LSTM.", _select_shape, accepts="any", constructor="SelectTimestep",
    cost=lambda params, inputs, out: (0, 0),
    params=(ParamSpec("index", "int", -1, "Step to take; negative counts from the end.",
                      min=-(1 << 20), max=1 << 20),)))
