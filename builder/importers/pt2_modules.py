"""Whole module calls in a .pt2 program (see scopes): LSTM, GRU, MultiheadAttention and
TransformerEncoderLayer become one catalog layer each, with the module's parameters under their
own names and an attention mask the catalog computes exactly (pt2_masks) in its params."""
from math import prod

from builder.importers import layers
from builder.importers.masks import MaskPlan, Unproven
from builder.importers.pt2_masks import plan as plan_mask
from builder.importers.scopes import ModuleCall, Planned, depends_on, first_reader

TIME_FIRST = ("it is time-first (batch_first=False); LayerLoom's layer is batch-first and a graph "
              "cannot move the batch dimension")


def plan_call(reader, call: ModuleCall) -> Planned | str:
    """How `call` maps to one layer, or why its operations are mapped one by one."""
    ops = [(reader.op_name(reader.nodes[i]), reader.args(i), reader.writes[i]) for i in call.indices]
    mask = MaskPlan()
    if call.type_ in ("MultiheadAttention", "TransformerEncoderLayer"):
        try:
            mask = plan_mask(reader, call.indices)
        except Unproven as exc:
            return str(exc)
        except (KeyError, IndexError, TypeError, ValueError) as exc:  # a shape not recorded
            return f"its mask could not be read ({type(exc).__name__})"
    made = {v for _, _, outs in ops for v in outs}
    used = _used_inside(reader, call, mask.key_tokens)
    inputs = [v for v in call.inputs if v in used]
    prefix = f"{call.path}."
    names = {v for i in call.indices for v in reader.tensor_args(i) if v in used} - made - set(inputs)
    if any(not reader.state_keys.get(n, "").startswith(prefix) for n in names):
        return "it reads a constant or a weight of another module (tied)"
    if len(call.outputs) != 1:
        return "a second result is used (the final state or the attention weights)"
    state = {reader.state_keys[n][len(prefix):]: reader.weight(n) for n in names}
    op = f"{call.type_} module"
    if call.type_ == "TransformerEncoderLayer":
        return _encoder_layer(reader, call, inputs, ops, state, op, mask)
    if call.type_ in ("LSTM", "GRU"):
        cells = [(a, outs) for name, a, outs in ops if name == call.type_.lower()]
        if len(cells) != 1 or len(inputs) != 1:
            return "it is not one call reading one input"
        a, outs = cells[0]
        if a["input"] != inputs[0] or outs[0] != call.outputs[0] or a.get("train"):
            return "it is given an initial state, or a later output is used"
        if not a["batch_first"]:
            return TIME_FIRST
        params = layers.recurrent_params(call.type_, state)
        if params is None:
            return "its weights are not those of one LayerLoom layer"
        return Planned(lambda: reader.b.layer(op, call.type_, inputs, call.outputs[0], params,
                                              state, call.path), inputs)
    reads = reader.reads
    if not 1 <= len(inputs) <= 3:
        return "it reads another input besides query, key and value"
    if any(reader.op_name(reader.nodes[first_reader(call, reads, v)]) != "transpose"
           for v in inputs):
        return TIME_FIRST
    out_proj = [outs[0] for name, a, outs in ops
                if name == "linear" and reader.state_keys.get(a["weight"]) == f"{prefix}out_proj.weight"]
    if len(out_proj) != 1 or not depends_on(call, reads, reader.writes, call.outputs[0], out_proj[0]):
        return "its output is not its out_proj's"
    params = layers.attention_params(state, _head_dim(reader, ops))
    if params is None:
        return "it has separate q/k/v projections (kdim != embed_dim) or bias_k/bias_v"
    ports = inputs + ([None] * (3 - len(inputs)) + [mask.key_tokens] if mask.key_tokens else [])
    return Planned(lambda: reader.b.layer(op, "MultiheadAttention", ports, call.outputs[0],
                                          params | mask.params(), state, call.path), ports,
                   set(call.inputs) - set(inputs))


def _used_inside(reader, call: ModuleCall, key_tokens: str | None) -> set[str]:
    """The values the call's output is computed from, its mask left out (the layer computes that
    from its params and `key_tokens`): the layer's inputs and its weights."""
    mask_sites = {"scaled_dot_product_attention": "attn_mask", "baddbmm": "self"}
    producer = {v: i for i in call.indices for v in reader.writes[i]}
    used, todo = set(), list(call.outputs)
    while todo:
        value = todo.pop()
        if value in used:
            continue
        used.add(value)
        if value in producer:
            index = producer[value]
            args = reader.args(index)
            skip = args.get(mask_sites.get(reader.op_name(reader.nodes[index]), ""))
            todo += [v for v in reader.tensor_args(index) if v != skip]
    return used - ({key_tokens} if key_tokens else set())


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


def _encoder_layer(reader, call: ModuleCall, inputs: list[str], ops, state: dict, op: str,
                   mask: MaskPlan) -> Planned | str:
    """A whole nn.TransformerEncoderLayer call as the catalog's layer: batch-first, relu or exact
    gelu, a mask the catalog computes. Dropout is not in an eval-mode program: torch's default
    0.1 is given."""
    biases = {key.replace("weight", "bias") for key in ENCODER_WEIGHTS}
    names = [name for name, _, _ in ops]
    activations = {name for name in names if name in ("relu", "gelu")}
    norms = [a for name, a, _ in ops if name == "layer_norm"]
    if "transpose" not in names or "linear" not in names \
            or names.index("transpose") > names.index("linear"):
        return TIME_FIRST
    if (len(inputs) != 1 or set(state) not in (ENCODER_WEIGHTS, ENCODER_WEIGHTS | biases)
            or len(activations) != 1 or len(norms) != 2
            or any(a.get("approximate", "none") != "none" for name, a, _ in ops if name == "gelu")
            or len({a.get("eps", 1e-5) for a in norms}) != 1):
        return "it is not torch's layer as LayerLoom has it (activation, norms, weights)"
    width, head_dim = state["self_attn.out_proj.weight"].shape[0], _head_dim(reader, ops)
    if head_dim < 1 or width % head_dim:
        return "its number of heads could not be read"
    params = {"nhead": width // head_dim, "dim_feedforward": int(state["linear1.weight"].shape[0]),
              "dropout": 0.1, "activation": activations.pop(),
              "layer_norm_eps": layers.float32_round(norms[0].get("eps", 1e-5)),
              "norm_first": names.index("layer_norm") < names.index("linear"),
              "bias": "linear1.bias" in state} | mask.params()
    ports = inputs + ([mask.key_tokens] if mask.key_tokens else [])
    return Planned(lambda: reader.b.layer(op, "TransformerEncoderLayer", ports, call.outputs[0],
                                          params, state, call.path), ports,
                   set(call.inputs) - set(inputs))
