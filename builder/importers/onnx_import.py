"""Import an ONNX model: parsed with the `onnx` package (protobuf only, nothing is executed or
unpickled, external data files are never opened), every size bounded before it is allocated."""
from collections import Counter
from pathlib import Path

import torch

from builder.importers import layers
from builder.importers.graph_builder import MAX_SOURCE_OPS, GraphBuilder
from builder.importers.limits import MAX_FILE_BYTES, check_input_shape, check_weight_elements
from builder.importers.onnx_fold import fold
from builder.importers.onnx_modules import CELLS, map_call, plan_attention
from builder.importers.opaque import keep_onnx
from builder.importers.report import ImportRefused, ImportResult
from builder.importers.scopes import (RECOGNISED, mask_only_ops, module_calls, onnx_stack,
                                      planned_calls)
from builder.importers.shared_weights import onnx_owners

ACTIVATIONS = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "HardSwish": "Hardswish",
               "Mish": "Mish"}
PASS_THROUGH = {"Dropout", "Identity"}
# A TransformerEncoderLayer maps op by op from ONNX (its self-attention as one layer): the
# exporter folds and dedupes its weights, so the whole layer is not recognised.
ONNX_CALLS = {cls: type_ for cls, type_ in RECOGNISED.items() if type_ != "TransformerEncoderLayer"}


def import_onnx(path: str | Path, data: bytes | None = None) -> ImportResult:
    import onnx  # in requirements.txt; imported here so the rest of builder never needs it

    data = _read(path) if data is None else data
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ImportRefused(f"{Path(path).name} is not an ONNX model ({type(exc).__name__})") from exc
    graph = model.graph
    if len(graph.node) > MAX_SOURCE_OPS:
        raise ImportRefused(f"{Path(path).name} has {len(graph.node):,} operations; at most "
                            f"{MAX_SOURCE_OPS:,} can be imported")
    try:
        return _Reader(Path(path).name, model).run()
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        # e.g. a MaxPool without kernel_shape: a damaged or hand-made file, one message
        raise ImportRefused(f"{Path(path).name} is malformed ({type(exc).__name__}: {exc})") from exc


def _read(path) -> bytes:
    size = Path(path).stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportRefused(f"{Path(path).name} is {size / 2**20:,.0f} MB; at most "
                            f"{MAX_FILE_BYTES / 2**20:,.0f} MB can be imported")
    return Path(path).read_bytes()


class _Reader:
    def __init__(self, name: str, model):
        import onnx

        self.onnx, self.name, self.graph = onnx, name, model.graph
        self.consts = {t.name: self._tensor(t, f"initializer '{t.name}'")
                       for t in self.graph.initializer}
        self.shapes = self._shapes(model)
        self.uses = Counter(value for node in self.graph.node for value in node.input)
        self.producer = {value: node for node in self.graph.node for value in node.output}
        self.b = GraphBuilder(name)
        self.data_inputs: set[str] = set()

    def attrs(self, node) -> dict:
        return {x.name: self.onnx.helper.get_attribute_value(x) for x in node.attribute}

    def only_cells_read(self, value: str) -> bool:
        """Only recurrent cells read `value` (ONNX's optimiser shares one time-major Transpose
        between two recurrent layers reading the same input; each sees through it)."""
        readers = [node.op_type for node in self.graph.node if value in node.input]
        outputs = {v.name for v in self.graph.output}
        return bool(readers) and value not in outputs and set(readers) <= CELLS

    def _bookkeeping(self) -> set[str]:
        """Constants and the values computed from tensor shapes (Shape, then arithmetic on it):
        what a reshape or an initial state is made of, never a layer's data. Constant
        arithmetic that onnx_fold knows is folded into `self.consts` on the way."""
        known = set(self.consts)
        for index, node in enumerate(self.graph.node):
            if node.op_type == "Constant":
                known.update(node.output)
                self.consts[node.output[0]] = self._tensor(
                    self.onnx.helper.get_attribute_value(node.attribute[0]), f"node {index}")
            elif node.op_type in ("Shape", "Size") or (
                    node.input and all(v in known for v in node.input if v)):
                known.update(node.output)
                value = fold(node.op_type, self.attrs(node),
                             [self.consts.get(v) if v else None for v in node.input])
                if value is not None:
                    self.consts[node.output[0]] = value
        return known

    def run(self) -> ImportResult:
        for value in self.graph.input:
            if value.name not in self.consts:
                dims = [d.dim_value if d.HasField("dim_value") else None
                        for d in value.type.tensor_type.shape.dim]
                shape = check_input_shape(f"input '{value.name}'", dims)
                self.b.add_input(value.name, shape, _dtype(value.type.tensor_type.elem_type))
                self.data_inputs.add(value.name)
        outputs = [value.name for value in self.graph.output]
        self.consts_or_shapes = self._bookkeeping()
        self.reads = [[v for v in n.input if v and v not in self.consts_or_shapes]
                      for n in self.graph.node]
        self.writes = [[v for v in n.output if v and v not in self.consts_or_shapes]
                       for n in self.graph.node]
        calls = module_calls([onnx_stack(n) for n in self.graph.node], self.reads, self.writes,
                             outputs, ONNX_CALLS)
        plans = {index: plan_attention(self, call) for index, call in calls.items()
                 if call.type_ == "MultiheadAttention"}
        planned = planned_calls(calls, plans, self.b.notes)
        done = mask_only_ops(self.reads, self.writes, outputs, self.data_inputs, planned)
        for index, node in enumerate(self.graph.node):
            where = f"node {index} '{node.name or node.output[0]}'"
            if index in done:
                continue
            self.b.stack = onnx_stack(node)
            if index in planned:
                planned[index][0].build()
                done.update(calls[index].indices)
            elif index in calls and index not in plans and map_call(self, calls[index]):
                done.update(calls[index].indices)
            elif not self.writes[index]:
                continue  # shape bookkeeping: no tensor a layer reads
            elif not self._map(node) and not keep_onnx(self, node, where):
                self.b.leave_gap(node.op_type, where, list(node.output))
        self.b.note_shared_weights(onnx_owners(self, calls, done))
        return self.b.finish(outputs)

    def _position_table(self, x: str, const: list) -> torch.Tensor | None:
        """`x + table` where table is a (steps, features) constant of x's per-sample shape: a
        learned positional embedding (torch's exporter folds `pos[:T]` into that constant)."""
        table = next((c for c in const if c is not None), None)
        if table is None or table.dim() != 2 or not table.is_floating_point():
            return None
        return table if self.shapes.get(x) == list(table.shape) else None

    def _map(self, node) -> bool:
        """Describe one node to the builder; False when no catalog layer computes it exactly."""
        op, a = node.op_type, {x.name: self.onnx.helper.get_attribute_value(x) for x in node.attribute}
        ins, out, b = list(node.input), node.output[0], self.b
        data = [v for v in ins if v and v not in self.consts]
        const = [self.consts.get(v) for v in ins]
        if op in ACTIVATIONS:
            return bool(b.layer(op, ACTIVATIONS[op], data, out, {}))
        if op in PASS_THROUGH:
            b.alias(op, out, ins[0])
            return True
        if op in ("Add", "Mul") and len(data) == 2:
            return bool(b.layer(op, {"Add": "Add", "Mul": "Multiply"}[op], data, out, {}))
        if op == "Add" and len(data) == 1 and self._position_table(data[0], const) is not None:
            table = self._position_table(data[0], const)
            return bool(b.layer(op, "PositionalEmbedding", data, out,
                                {"num_positions": int(table.shape[0])}, {"weight": table},
                                _stem(next(v for v in ins if v in self.consts))))
        if op == "Add" and len(data) == 1 and const[1] is not None and self.uses[ins[0]] == 1:
            if b.fold_bias(ins[0], const[1], out):  # the Linear's output is read only here
                b.consumed[ins[0]] += 1
                b.mapped[op] += 1
                return True
            return False
        if op == "Gemm" and len(data) == 1 and const[1] is not None and a.get("transA", 0) == 0 \
                and a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0:
            weight = const[1] if a.get("transB", 0) else const[1].T.contiguous()
            layers.linear(b, op, ins[0], out, weight, const[2] if len(ins) > 2 else None,
                          _stem(ins[1]))
            return True
        if op == "MatMul" and len(data) == 1 and const[1] is not None and const[1].dim() == 2:
            layers.linear(b, op, ins[0], out, const[1].T.contiguous(), None, _stem(ins[1]))
            return True
        if op in ("Conv", "ConvTranspose") and len(data) == 1 and const[1] is not None:
            padding = _symmetric(a.get("pads"), const[1].dim() - 2)
            if padding is None or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                return False
            rank = const[1].dim() - 2
            return layers.conv(b, op, ins[0], out, const[1], const[2] if len(ins) > 2 else None,
                               _stem(ins[1]), stride=a.get("strides", [1] * rank), padding=padding,
                               dilation=a.get("dilations", [1] * rank), groups=a.get("group", 1),
                               transposed=op == "ConvTranspose",
                               output_padding=a.get("output_padding", [0] * rank))
        if op == "BatchNormalization" and len(data) == 1 and None not in const[1:5]:
            tensors = dict(zip(("weight", "bias", "running_mean", "running_var"), const[1:5]))
            return layers.batch_norm(b, op, ins[0], out, self._rank(ins[0]), tensors,
                                     a.get("epsilon", 1e-5), 1 - a.get("momentum", 0.9),
                                     _stem(ins[1]))
        if op in ("MaxPool", "AveragePool") and len(node.output) == 1:
            kernel = a["kernel_shape"]
            padding = _symmetric(a.get("pads"), len(kernel))
            if padding is None or (op == "AveragePool" and any(padding)
                                   and not a.get("count_include_pad", 0)):
                return False
            return layers.pool(b, op, op[:3].title(), ins[0], out, kernel=kernel,
                               stride=a.get("strides"), padding=padding,
                               ceil_mode=a.get("ceil_mode", 0))
        return self._map_shape_op(node, op, a, ins, out, data, const)

    def _map_shape_op(self, node, op, a, ins, out, data, const) -> bool:
        b = self.b
        if op in ("Softmax", "LogSoftmax") and a.get("axis", -1) != 0:
            return bool(b.layer(op, op, data, out, {"dim": a.get("axis", -1)}))
        if op in ("LeakyRelu", "Elu"):
            key, default = {"LeakyRelu": ("negative_slope", 0.01), "Elu": ("alpha", 1.0)}[op]
            return bool(b.layer(op, {"LeakyRelu": "LeakyReLU", "Elu": "ELU"}[op], data, out,
                                {key: a.get("alpha", default)}))
        if op == "Gelu":
            return bool(b.layer(op, "GELU", data, out, {"approximate": _text(a.get("approximate", "none"))}))
        if op == "HardSigmoid" and abs(a.get("alpha", 0.2) - 1 / 6) < 1e-6 and a.get("beta", 0.5) == 0.5:
            return bool(b.layer(op, "Hardsigmoid", data, out, {}))
        if op == "Clip" and len(data) == 1 and None not in const[1:3] and len(ins) == 3:
            low, high = float(const[1]), float(const[2])
            if (low, high) == (0.0, 6.0):
                return bool(b.layer(op, "ReLU6", data, out, {}))
            return bool(b.layer(op, "Hardtanh", data, out, {"min_val": low, "max_val": high}))
        if op == "GlobalAveragePool" and self._rank(ins[0]) == 3:
            return bool(b.layer(op, "AdaptiveAvgPool2d", data, out, {"output_size": 1}))
        if op == "ReduceMean" and len(data) == 1:
            axes = [int(x) for x in (const[1].tolist() if len(ins) > 1 else a.get("axes", []))]
            rank = self._rank(ins[0])
            axes = sorted(x % (rank + 1) for x in axes) if rank else axes
            if rank == 3 and axes == [2, 3] and a.get("keepdims", 1):
                return bool(b.layer(op, "AdaptiveAvgPool2d", data, out, {"output_size": 1}))
            if len(axes) == 1 and axes[0] > 0 and not a.get("keepdims", 1):
                return bool(b.layer(op, "MeanPool", data, out, {"dim": axes[0]}))
            return False
        if op == "Flatten" and a.get("axis", 1) == 1:
            return bool(b.layer(op, "Flatten", data, out, {}))
        if op == "Reshape" and len(data) == 1:
            return layers.reshape(b, op, ins[0], out, self.shapes.get(ins[0]), self.shapes.get(out))
        if op == "Concat" and len(data) == len(ins) and a.get("axis") != 0:
            return bool(b.layer(op, "Concat", data, out, {"dim": a["axis"]}))
        if op == "Gather" and len(ins) == 2 and const[0] is not None and const[1] is None \
                and const[0].dim() == 2 and a.get("axis", 0) == 0:
            return layers.embedding(b, op, ins[1], out, const[0], None, _stem(ins[0]))
        if op == "Gather" and const[1] is not None and const[1].dim() == 0 and a.get("axis") == 1:
            return bool(b.layer(op, "SelectTimestep", data, out, {"index": int(const[1])}))
        if op == "LayerNormalization" and len(data) == 1 and len(ins) == 3 and None not in const[1:]:
            rank = self._rank(ins[0])
            if rank is None or a.get("axis", -1) % (rank + 1) != rank + 1 - const[1].dim():
                return False
            return layers.layer_norm(b, op, ins[0], out, list(const[1].shape),
                                     a.get("epsilon", 1e-5), const[1], const[2], _stem(ins[1]))
        if op == "Transpose" and a.get("perm", [None])[0] == 0:
            return bool(b.layer(op, "Permute", data, out, {"dims": list(a["perm"][1:])}))
        return False

    def _rank(self, value: str) -> int | None:
        shape = self.shapes.get(value)
        return None if shape is None else len(shape)

    def _shapes(self, model) -> dict[str, list]:
        """Per-sample shapes (batch dropped) from ONNX shape inference; unknown ones are left out."""
        try:
            inferred = self.onnx.shape_inference.infer_shapes(model).graph
        except Exception:  # inference is a convenience: without it some reshapes stay unmapped
            inferred = model.graph
        shapes, self.elem_types, self.full_shapes = {}, {}, {}
        for value in [*inferred.input, *inferred.value_info, *inferred.output]:
            tensor_type = value.type.tensor_type
            self.elem_types[value.name] = tensor_type.elem_type
            if tensor_type.HasField("shape") and len(tensor_type.shape.dim):
                self.full_shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None
                                                for d in tensor_type.shape.dim]
                shapes[value.name] = self.full_shapes[value.name][1:]
        return shapes

    def _tensor(self, proto, where: str) -> torch.Tensor:
        if proto.data_location == self.onnx.TensorProto.EXTERNAL:
            raise ImportRefused(f"{self.name}: {where} keeps its data in an external file, which "
                                "is never opened on import; save the model as one file")
        check_weight_elements(f"{self.name}: {where}", list(proto.dims))
        try:
            array = self.onnx.numpy_helper.to_array(proto)
        except Exception as exc:
            raise ImportRefused(f"{self.name}: {where} cannot be read: {exc}") from exc
        return torch.from_numpy(array.copy())


def _symmetric(pads, rank: int) -> list[int] | None:
    """ONNX pads are (begin..., end...); torch pads both sides alike."""
    if not pads:
        return [0] * rank
    begin, end = list(pads[:rank]), list(pads[rank:])
    return begin if begin == end else None


def _stem(weight_name: str) -> str:
    """'layer1.conv.weight' -> 'layer1.conv': the node is named after its module."""
    return weight_name.rsplit(".", 1)[0] if weight_name.endswith(".weight") else weight_name


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _dtype(elem_type: int) -> str:
    return "long" if elem_type in (6, 7) else "float"  # INT32, INT64 are token ids
