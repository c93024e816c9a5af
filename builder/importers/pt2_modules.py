"""Whole module calls in a .pt2 program (see scopes): LSTM, GRU and MultiheadAttention become one
catalog layer each, with the module's parameters under their own names."""
from math import prod

from builder.importers import layers
from builder.importers.scopes import ModuleCall, depends_on, first_reader


def map_call(reader, call: ModuleCall) -> bool:
    """Describe `call` to the reader's builder as one layer; False leaves its operations to be
    mapped one by one."""
    ops = [(reader.op_name(reader.nodes[i]), reader.args(i), reader.writes[i]) for i in call.indices]
    prefix = f"{call.path}."
    tensors = {v for i in call.indices for v in reader.tensor_args(i)}
    made = {v for _, _, outs in ops for v in outs}
    names = tensors - made - set(call.inputs)
    if any(not reader.state_keys.get(n, "").startswith(prefix) for n in names) \
            or len(call.outputs) != 1:
        return False  # a constant (a mask), a weight from elsewhere (tied), or a second result
        # used (h_n, the attention weights)
    state = {reader.state_keys[n][len(prefix):]: reader.weight(n) for n in names}
    op = f"{call.type_} module"
    if call.type_ == "TransformerEncoderLayer":
        return _encoder_layer(reader, call, ops, state, op)
    if call.type_ in ("LSTM", "GRU"):
        cells = [(a, outs) for name, a, outs in ops if name == call.type_.lower()]
        if len(cells) != 1 or len(call.inputs) != 1:
            return False
        a, outs = cells[0]
        if (a["input"] != call.inputs[0] or outs[0] != call.outputs[0] or not a["batch_first"]
                or a.get("train")):
            return False  # a given initial state, a later output, or time-first input
        return layers.recurrent(reader.b, op, call.type_, call.inputs[0], call.outputs[0], state,
                                call.path)
    reads = reader.reads
    if not 1 <= len(call.inputs) <= 3 or any(
            reader.op_name(reader.nodes[first_reader(call, reads, v)]) != "transpose"
            for v in call.inputs):
        return False  # a mask or other extra input: only query, key and value are read
    out_proj = [outs[0] for name, a, outs in ops
                if name == "linear" and reader.state_keys.get(a["weight"]) == f"{prefix}out_proj.weight"]
    if len(out_proj) != 1 or not depends_on(call, reads, reader.writes, call.outputs[0], out_proj[0]):
        return False
    return layers.attention(reader.b, op, call.inputs, call.outputs[0], state,
                            _head_dim(reader, ops), call.path)


def _head_dim(reader, ops) -> int:
    """Attention scales scores by 1/sqrt(head_dim): from the scalar factors applied, or from the
    query's shape (batch, heads, steps, head_dim) where scaled_dot_product_attention does it."""
    for name, a, _ in ops:
        if name == "scaled_dot_product_attention" and a.get("scale") is None:
            return int(reader.shapes[a["query"]][-1])
    factors = [a["other"] for name, a, _ in ops
               if name == "mul" and isinstance(a.get("other"), float)]
    factors += [1 / a["other"] for name, a, _ in ops
                if name == "div" and isinstance(a.get("other"), float) and a["other"]]
    return round(prod(factors) ** -2) if factors and prod(factors) > 0 else 0



ENCODER_WEIGHTS = {"self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight",
                   "linear2.weight", "norm1.weight", "norm2.weight"}


def _encoder_layer(reader, call: ModuleCall, ops, state: dict, op: str) -> bool:
    """A whole nn.TransformerEncoderLayer call as the catalog's layer: batch-first, relu or exact
    gelu, no mask (a mask is a constant or an input the check on names refuses). Dropout is not
    in an eval-mode program: torch's default 0.1 is given."""
    biases = {key.replace("weight", "bias") for key in ENCODER_WEIGHTS}
    names = [name for name, _, _ in ops]
    activations = {name for name in names if name in ("relu", "gelu")}
    norms = [a for name, a, _ in ops if name == "layer_norm"]
    if (len(call.inputs) != 1 or set(state) not in (ENCODER_WEIGHTS, ENCODER_WEIGHTS | biases)
            or len(activations) != 1 or len(norms) != 2
            or any(a.get("approximate", "none") != "none" for name, a, _ in ops if name == "gelu")
            or len({a.get("eps", 1e-5) for a in norms}) != 1
            or "transpose" not in names or "linear" not in names
            or names.index("transpose") > names.index("linear")):  # time-first: not batch-first
        return False
    width, head_dim = state["self_attn.out_proj.weight"].shape[0], _head_dim(reader, ops)
    if head_dim < 1 or width % head_dim:
        return False
    params = {"nhead": width // head_dim, "dim_feedforward": int(state["linear1.weight"].shape[0]),
              "dropout": 0.1, "activation": activations.pop(),
              "layer_norm_eps": layers.float32_round(norms[0].get("eps", 1e-5)),
              "norm_first": names.index("layer_norm") < names.index("linear"),
              "bias": "linear1.bias" in state}
    reader.b.layer(op, "TransformerEncoderLayer", call.inputs, call.outputs[0], params, state,
                   call.path)
    return True
