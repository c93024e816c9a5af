"""Whole module calls in an ONNX graph (see scopes): LSTM, GRU and MultiheadAttention become one
catalog layer each, their weights brought back to torch's layout, an attention mask the catalog
computes exactly (onnx_masks) in its params."""
from math import prod

import torch

from builder.importers import layers
from builder.importers.masks import Unproven
from builder.importers.onnx_masks import mask_constants
from builder.importers.onnx_masks import plan as plan_mask
from builder.importers.scopes import ModuleCall, Planned, depends_on, first_reader

CELLS = {"LSTM", "GRU", "RNN"}
# torch's gate order as indices into ONNX's: LSTM i,f,g,o <- i,o,f,c; GRU r,z,n <- z,r,h
GATE_ORDER = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2]}


def map_call(reader, call: ModuleCall) -> bool:
    """Describe a recurrent `call` to the reader's builder as one layer; False leaves its nodes
    to be mapped one by one."""
    nodes = [reader.graph.node[i] for i in call.indices]
    return _recurrent(reader, call, [n for n in nodes if n.op_type == call.type_])


def _recurrent(reader, call: ModuleCall, cells: list) -> bool:
    """torch exports a batch-first LSTM as Transpose -> one ONNX cell per layer -> Transpose."""
    if not cells:
        return False
    time_major = reader.producer.get(cells[0].input[0])
    if time_major is None or time_major.op_type != "Transpose" or list(
            reader.attrs(time_major).get("perm", [])) != [1, 0, 2]:
        return False  # a time-first module: the catalog's recurrent layers are batch-first
    x = time_major.input[0]
    outputs = [v for v in call.outputs if not reader.only_cells_read(v)]
    if not set(call.inputs) <= {x, cells[0].input[0]} or len(outputs) != 1 \
            or not depends_on(call, reader.reads, reader.writes, outputs[0], cells[-1].output[0]):
        return False
    state = {}
    for layer, cell in enumerate(cells):
        a = reader.attrs(cell)
        directions = {"forward": 1, "bidirectional": 2}.get(_text(a.get("direction", "forward")))
        if (directions is None or a.get("input_forget", 0) or a.get("layout", 0)
                or set(a) - {"hidden_size", "direction", "layout", "linear_before_reset", "input_forget"} or (call.type_ == "GRU" and not a.get("linear_before_reset"))
                or any(v and not _zeros(reader, v) for v in cell.input[4:])
                or any(reader.uses[v] for v in cell.output[1:] if v)):
            return False  # peepholes, clipping, other activations, or the final state is read
        weights = [reader.consts.get(v) if v else None for v in cell.input[1:4]]
        if weights[0] is None or weights[1] is None:
            return False
        state.update(_cell_state(call.type_, layer, directions, *weights))
    params = layers.recurrent_params(call.type_, state)
    if params is None:
        return False
    reader.b.layer(f"{call.type_} module", call.type_, [x], outputs[0], params, state, call.path)
    return True


def _cell_state(type_: str, layer: int, directions: int, w, r, bias) -> dict:
    """One ONNX cell's W [dirs, gates*H, in], R, B [dirs, 2*gates*H] as torch's named tensors."""
    order = GATE_ORDER[type_]

    def torch_gates(tensor):
        return torch.cat([tensor.chunk(len(order))[i] for i in order]).contiguous()

    state = {}
    for d in range(directions):
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        state[f"weight_ih{suffix}"], state[f"weight_hh{suffix}"] = torch_gates(w[d]), torch_gates(r[d])
        if bias is not None:
            bias_ih, bias_hh = bias[d].chunk(2)
            state[f"bias_ih{suffix}"], state[f"bias_hh{suffix}"] = torch_gates(bias_ih), torch_gates(bias_hh)
    return state


def plan_attention(reader, call: ModuleCall) -> Planned | str:
    """How a MultiheadAttention call maps to one layer (with a mask the catalog computes), or
    why its nodes are mapped one by one."""
    nodes = [reader.graph.node[i] for i in call.indices]
    qkv = [v for v in call.inputs
           if reader.graph.node[first_reader(call, reader.reads, v)].op_type == "Transpose"]
    if not 1 <= len(qkv) <= 3:
        return "it reads another input besides query, key and value, or is time-first"
    if len(call.outputs) != 1:
        return "a second result is used (the attention weights)"
    try:
        mask, mask_value = plan_mask(reader, call, nodes, qkv)
    except Unproven as exc:
        return str(exc)
    except (KeyError, IndexError, TypeError, ValueError) as exc:  # a shape not recorded
        return f"its mask could not be read ({type(exc).__name__})"
    drop = set(call.inputs) - set(qkv)
    if mask_value is None and drop:
        return "it reads another input besides query, key and value"
    pieces = _linear_pieces(reader, nodes)
    if _reads_other_constants(reader, nodes, pieces, mask_constants(reader, mask_value)):
        return "it reads a constant the layer would ignore (bias_k/bias_v)"
    if len(pieces) < 2 or not depends_on(call, reader.reads, reader.writes, call.outputs[0],
                                         pieces[-1][2]):
        return "its output is not its out_proj's"
    (out_w, out_b, _, _), inner = pieces[-1], pieces[:-1]
    state = {"in_proj_weight": torch.cat([w for w, *_ in inner]), "out_proj.weight": out_w}
    if any(b is not None for _, b, *_ in pieces):  # the exporter drops a bias that is all zeros
        state["in_proj_bias"] = torch.cat([_or_zeros(b, w) for w, b, *_ in inner])
        state["out_proj.bias"] = _or_zeros(out_b, out_w)
    params = layers.attention_params(state, _head_dim(reader, nodes))
    if state["in_proj_weight"].shape != (3 * out_w.shape[0], out_w.shape[1]) or params is None:
        return "it has separate q/k/v projections (kdim != embed_dim)"
    ports = qkv + ([None] * (3 - len(qkv)) + [mask.key_tokens] if mask.key_tokens else [])
    return Planned(lambda: reader.b.layer("MultiheadAttention module", "MultiheadAttention",
                                          ports, call.outputs[0], params | mask.params(), state,
                                          call.path), ports, drop)


def _zeros(reader, value: str) -> bool:
    """Whether `value` (an initial state) is all zeros: a zero constant, or zeros expanded,
    sliced or reshaped (how the exporter writes torch.zeros(batch-dependent shape))."""
    if value in reader.consts:
        return not reader.consts[value].any()
    node = reader.producer.get(value)
    if node is None:
        return False
    if node.op_type == "ConstantOfShape":
        fill = reader.attrs(node).get("value")
        return fill is None or not reader.onnx.numpy_helper.to_array(fill).any()
    return node.op_type in ("Expand", "Slice", "Reshape", "Unsqueeze", "Squeeze", "Transpose") \
        and _zeros(reader, node.input[0])


def _reads_other_constants(reader, nodes: list, pieces: list, mask: set[str]) -> bool:
    """Whether the call reads a float constant of several values that is not a projection's
    weight or bias or part of its mask (integer constants are shapes, axes and indices)."""
    used = set().union(mask, *(names for *_, names in pieces))
    for node in nodes:
        for v in node.input:
            const = reader.consts.get(v)
            integers = const is not None and not const.dtype.is_floating_point \
                and const.dtype != torch.bool
            if const is not None and const.numel() > 1 and not integers and v not in used:
                return True
    return False


def _or_zeros(bias, weight):
    return torch.zeros(weight.shape[0], dtype=weight.dtype) if bias is None else bias


def _linear_pieces(reader, nodes: list) -> list[tuple]:
    """(weight in torch's (out, in) layout, bias or None, value computed, constants read) per
    projection."""
    pieces = []
    for node in nodes:
        a, w = reader.attrs(node), reader.consts.get(node.input[1]) if len(node.input) > 1 else None
        if w is None or w.dim() != 2 or node.input[0] in reader.consts:
            continue
        if node.op_type == "MatMul":
            adds = [n for n in nodes if n.op_type == "Add" and node.output[0] in n.input]
            bias_name = next((v for n in adds for v in n.input if v in reader.consts), None)
            bias = reader.consts.get(bias_name)
            out = adds[0].output[0] if adds and bias is not None else node.output[0]
            pieces.append((w.T.contiguous(), bias, out, {node.input[1], bias_name}))
        elif node.op_type == "Gemm" and not a.get("transA") and a.get("alpha", 1.0) == 1.0 \
                and a.get("beta", 1.0) == 1.0:
            bias = reader.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            pieces.append((w if a.get("transB") else w.T.contiguous(), bias, node.output[0],
                           set(node.input[1:3])))
    return pieces


def _head_dim(reader, nodes: list) -> int:
    """Scores are scaled by 1/sqrt(head_dim): the product of the scalar factors applied."""
    factors = []
    for node in nodes:
        scalar = next((reader.consts[v] for v in node.input
                       if v in reader.consts and reader.consts[v].numel() == 1), None)
        scores = any(v not in reader.consts_or_shapes for v in node.input)  # not shape arithmetic
        if scores and scalar is not None and node.op_type in ("Mul", "Div") and float(scalar):
            factors.append(float(scalar) if node.op_type == "Mul" else 1 / float(scalar))
    return round(prod(factors) ** -2) if factors and prod(factors) > 0 else 0


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
