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

