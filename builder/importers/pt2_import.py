"""Import a torch.export `.pt2` archive: its serialized program (JSON) becomes a LayerLoom graph,
its raw weights a state dict. See pt2_archive for what is (never) read."""
from collections import Counter
from pathlib import Path

import torch

from builder.importers import layers
from builder.importers.graph_builder import MAX_SOURCE_OPS, GraphBuilder
from builder.importers.limits import MAX_FILE_BYTES, check_input_shape
from builder.importers.pt2_archive import Pt2Archive
from builder.importers.opaque import keep_pt2
from builder.importers.pt2_modules import plan_call
from builder.importers.report import ImportRefused, ImportResult
from builder.importers.scopes import mask_only_ops, module_calls, planned_calls, pt2_stack
from builder.importers.shared_weights import pt2_owners

ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "silu": "SiLU",
               "mish": "Mish", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
               "relu6": "ReLU6"}
PASS_THROUGH = {"dropout", "clone", "contiguous", "alias"}
MERGES = {"add": "Add", "mul": "Multiply"}
SHAPE_ONLY = {"sym_size"}  # batch-size bookkeeping for dynamic reshapes: no tensor, no node


def import_pt2(path: str | Path) -> ImportResult:
    size = Path(path).stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportRefused(f"{Path(path).name} is {size / 2**20:,.0f} MB; at most "
                            f"{MAX_FILE_BYTES / 2**20:,.0f} MB can be imported")
    archive = Pt2Archive(path)
    try:
        module = archive.program["graph_module"]
        graph, signature = module["graph"], module["signature"]
        nodes = graph["nodes"]
    except (KeyError, TypeError) as exc:
        raise ImportRefused(f"{archive.name}: models/model.json lacks {exc}") from exc
    if len(nodes) > MAX_SOURCE_OPS:
        raise ImportRefused(f"{archive.name} has {len(nodes):,} operations; at most "
                            f"{MAX_SOURCE_OPS:,} can be imported")
    try:
        return _Reader(archive, graph, signature).run()
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, StopIteration) as exc:
        # a hand-made or damaged program: one message, never a traceback
        raise ImportRefused(f"{archive.name}: models/model.json is malformed "
                            f"({type(exc).__name__}: {exc})") from exc


class _Reader:
    def __init__(self, archive: Pt2Archive, graph: dict, signature: dict):
        self.archive, self.graph, self.signature = archive, graph, signature
        self.b = GraphBuilder(archive.name)
        self.state_keys: dict[str, str] = {}  # program input name -> state-dict key
        self.shapes = {name: _sizes(meta)[1:] for name, meta in graph.get("tensor_values", {}).items()}
        self.missing_weights: list[str] = []
        self.nodes = graph["nodes"]
        self.data_inputs: set[str] = set()  # the user inputs (not weights, not constants)
        self.input_dtypes: dict[str, str] = {}

    def run(self) -> ImportResult:
        for spec in self.signature["input_specs"]:
            kind, body = next(iter(spec.items()))
            if kind == "user_input":
                name = body["arg"]["as_tensor"]["name"]
                meta = self.graph["tensor_values"][name]
                shape = check_input_shape(f"input '{name}'", _sizes(meta))
                self.input_dtypes[name] = "long" if meta.get("dtype") in (3, 4, 5) else "float"
                self.b.add_input(name, shape, self.input_dtypes[name])
                self.data_inputs.add(name)
            elif kind in ("parameter", "buffer"):
                self.state_keys[body["arg"]["name"]] = body.get("parameter_name") or body["buffer_name"]
        outputs = [s["user_output"]["arg"]["as_tensor"]["name"]
                   for s in self.signature["output_specs"] if "user_output" in s]
        self.writes = [_tensor_names(node["outputs"]) for node in self.nodes]
        made = self.data_inputs.union(*self.writes)
        self.reads = [[v for v in _tensor_names(item["arg"] for item in node["inputs"]) if v in made]
                      for node in self.nodes]
        self.readers = Counter(v for values in self.reads for v in values) + Counter(outputs)
        calls = module_calls([pt2_stack(n) for n in self.nodes], self.reads, self.writes, outputs)
        plans = {index: plan_call(self, call) for index, call in calls.items()}
        planned = planned_calls(calls, plans, self.b.notes)
        done = mask_only_ops(self.reads, self.writes, outputs, self.data_inputs, planned)
        self.tables = self._position_tables()
        done |= {index for index, outs in enumerate(self.writes)
                 if outs and outs[0] in self.tables and outs[0] not in self.state_keys}
        for index, node in enumerate(self.nodes):
            if index in done:
                continue
            self.b.stack = pt2_stack(node)
            if index in planned:
                planned[index][0].build()
                done.update(calls[index].indices)
                continue
            target, op, outs = node["target"], self.op_name(node), self.writes[index]
            if op in SHAPE_ONLY or not outs:
                continue
            if not self._map(op, target, self.args(index), outs[0]) \
                    and not keep_pt2(self, index, op, outs, _where(node)):
                self.b.leave_gap(target.removeprefix("torch.ops."), _where(node), outs)
        if self.missing_weights:
            self.b.notes.append("weights not carried: " + "; ".join(self.missing_weights))
        self.b.note_shared_weights(pt2_owners(self, calls, done))
        return self.b.finish(outputs)

    def _position_tables(self) -> dict[str, str]:
        """Values that are a learned (positions, features) table, or its first rows, added to a
        sequence of as many steps: `x + pos[:T]` is a PositionalEmbedding. Value -> parameter."""
        tables = {}
        for index, node in enumerate(self.nodes):
            a = self.args(index)
            if self.op_name(node) == "slice" and a.get("self") in self.state_keys \
                    and a.get("dim", 0) == 0 and not a.get("start") and a.get("step", 1) == 1:
                tables[self.writes[index][0]] = a["self"]
        tables.update({name: name for name in self.state_keys})
        adds: dict[str, list] = {}  # table value -> the values added to it
        for index, node in enumerate(self.nodes):
            a = self.args(index)
            if self.op_name(node) == "add" and a.get("alpha", 1) == 1:
                adds.setdefault(a.get("other"), []).append(a.get("self"))
                adds.setdefault(a.get("self"), []).append(a.get("other"))
        values = self.graph["tensor_values"]
        return {value: param for value, param in tables.items()
                if value in adds and self.readers[value] == len(adds[value])
                and len(_sizes(values[param])) == 2
                and all(data in self.shapes and data not in self.state_keys
                        and self.shapes[data] == _sizes(values[value]) for data in adds[value])}

    @staticmethod
    def op_name(node: dict) -> str:
        return node["target"].removeprefix("torch.ops.aten.").split(".")[0]

    def args(self, index: int) -> dict:
        return _args(self.nodes[index])

    def tensor_args(self, index: int) -> list[str]:
        """Every tensor operation `index` reads: data, weights and constants."""
        return _tensor_names(item["arg"] for item in self.nodes[index]["inputs"])

    def weight(self, name: str | None):
        """The tensor behind a program input (parameter or buffer), or None. A weight that is not
        read (pickled, missing) is a meta tensor of its recorded shape: the layer still maps."""
        if name is None or name not in self.state_keys:
            return None
        tensor = self.archive.weight(self.state_keys[name])
        if isinstance(tensor, str):
            self.missing_weights.append(tensor)
            return torch.empty([d or 0 for d in _sizes(self.graph["tensor_values"][name])],
                               device="meta")
        return tensor

    def _stem(self, name: str) -> str:
        return self.state_keys.get(name, name).rsplit(".", 1)[0]

    def _map(self, op: str, target: str, a: dict, out: str) -> bool:
        b, x = self.b, a.get("input", a.get("self"))
        if op.endswith("_") and op[:-1] in ACTIVATIONS and self.readers[x] == 1:
            op = op[:-1]  # nn.ReLU(inplace=True) on a value nothing else reads: the same result
        if op in ACTIVATIONS:
            return bool(b.layer(op, ACTIVATIONS[op], [x], out, {}))
        if op in PASS_THROUGH or (op == "slice" and a.get("dim", 0) == 0 and not a.get("start")
                                  and (a.get("end") is None or a["end"] >= 1 << 62)
                                  and a.get("step", 1) == 1):  # x[:] over the batch
            b.alias(op, out, x)
            return True
        if op == "add" and a.get("alpha", 1) == 1 and {x, a.get("other")} & set(self.tables):
            data, table = (x, a["other"]) if a.get("other") in self.tables else (a["other"], x)
            weight, key = self.weight(self.tables[table]), self.state_keys[self.tables[table]]
            node = b.layer(op, "PositionalEmbedding", [data], out,
                           {"num_positions": int(weight.shape[0])}, {"weight": weight},
                           self._stem(self.tables[table]))
            if not key.endswith(".weight"):  # a bare nn.Parameter: the node's table is `.weight`
                b.notes.append(f"parameter '{key}' became PositionalEmbedding '{node}', so its "
                               f"weight's name is '{node}.weight'")
            return True
        if op in MERGES and isinstance(a.get("other"), str) and a.get("alpha", 1) == 1 \
                and a["other"] not in self.state_keys:
            return bool(b.layer(op, MERGES[op], [x, a["other"]], out, {}))
        if op == "linear" and a["weight"] in self.state_keys:
            layers.linear(b, op, x, out, self.weight(a["weight"]), self.weight(a.get("bias")),
                          self._stem(a["weight"]))
            return True
        if op in ("conv1d", "conv2d", "conv_transpose2d") and a["weight"] in self.state_keys \
                and not isinstance(a.get("padding"), str):
            weight, rank = self.weight(a["weight"]), int(op[-2])
            return layers.conv(b, op, x, out, weight, self.weight(a.get("bias")),
                               self._stem(a["weight"]), stride=_ints(a.get("stride", 1), rank),
                               padding=_ints(a.get("padding", 0), rank),
                               dilation=_ints(a.get("dilation", 1), rank),
                               groups=a.get("groups", 1), transposed="transpose" in op,
                               output_padding=_ints(a.get("output_padding", 0), rank))
        if op == "batch_norm" and not a.get("training"):
            names = ("weight", "bias", "running_mean", "running_var")
            tensors = {k: self.weight(a.get(k)) for k in names}
            if any(t is None for t in tensors.values()):
                return False
            return layers.batch_norm(b, op, x, out, len(self.shapes.get(x, [])), tensors,
                                     a.get("eps", 1e-5), a.get("momentum", 0.1),
                                     self._stem(a["weight"]))
        if op in ("max_pool1d", "max_pool2d", "avg_pool2d") and set(_ints(a.get("dilation", 1), 1)) == {1} \
                and a.get("divisor_override") is None and a.get("count_include_pad", True):
            kernel = a["kernel_size"]
            return layers.pool(b, op, op[:3].title(), x, out, kernel=kernel,
                               stride=a.get("stride") or kernel,
                               padding=_ints(a.get("padding", 0), len(kernel)),
                               ceil_mode=a.get("ceil_mode", False))
        return self._map_other(op, a, x, out)

    def _map_other(self, op: str, a: dict, x, out: str) -> bool:
        b, rank = self.b, len(self.shapes.get(x, []))
        if op in ("softmax", "log_softmax", "_softmax", "_log_softmax") and a.get("dim") != 0:
            type_ = "LogSoftmax" if "log" in op else "Softmax"
            return bool(b.layer(op, type_, [x], out, {"dim": a["dim"]}))
        if op == "hardtanh":
            low, high = a.get("min_val", -1.0), a.get("max_val", 1.0)
            if (low, high) == (0.0, 6.0):
                return bool(b.layer(op, "ReLU6", [x], out, {}))
            return bool(b.layer(op, "Hardtanh", [x], out, {"min_val": low, "max_val": high}))
        if op in ("leaky_relu", "elu"):
            key, type_ = {"leaky_relu": ("negative_slope", "LeakyReLU"), "elu": ("alpha", "ELU")}[op]
            params = {key: a[key]} if key in a else {}
            return bool(b.layer(op, type_, [x], out, params))
        if op == "gelu":
            return bool(b.layer(op, "GELU", [x], out, {"approximate": a.get("approximate", "none")}))
        if op == "adaptive_avg_pool2d" and a["output_size"] in ([1, 1], 1):
            return bool(b.layer(op, "AdaptiveAvgPool2d", [x], out, {"output_size": 1}))
        if op == "mean" and isinstance(a.get("dim"), list):
            dims = sorted(d % (rank + 1) for d in a["dim"])
            if rank == 3 and dims == [2, 3] and a.get("keepdim"):
                return bool(b.layer(op, "AdaptiveAvgPool2d", [x], out, {"output_size": 1}))
            if len(dims) == 1 and dims[0] > 0 and not a.get("keepdim"):
                return bool(b.layer(op, "MeanPool", [x], out, {"dim": dims[0]}))
            return False
        if op == "flatten" and a.get("start_dim", 0) >= 1:
            return bool(b.layer(op, "Flatten", [x], out, {"start_dim": a["start_dim"],
                                                          "end_dim": a.get("end_dim", -1)}))
        if op in ("view", "reshape", "_unsafe_view"):
            return layers.reshape(b, op, x, out, self.shapes.get(x), self.shapes.get(out))
        if op == "cat" and a.get("dim", 0) != 0 and all(t not in self.state_keys for t in a["tensors"]):
            return bool(b.layer(op, "Concat", list(a["tensors"]), out, {"dim": a["dim"]}))
        if op == "permute" and a["dims"][0] == 0:
            return bool(b.layer(op, "Permute", [x], out, {"dims": list(a["dims"][1:])}))
        if op == "embedding" and a["weight"] in self.state_keys and not a.get("sparse"):
            padding = a.get("padding_idx", -1)
            return layers.embedding(b, op, a["indices"], out, self.weight(a["weight"]),
                                    None if padding == -1 else padding, self._stem(a["weight"]))
        if op == "layer_norm" and all(a.get(k) in self.state_keys for k in ("weight", "bias") if a.get(k)):
            return layers.layer_norm(b, op, x, out, a["normalized_shape"], a.get("eps", 1e-5),
                                     self.weight(a.get("weight")), self.weight(a.get("bias")),
                                     self._stem(a.get("weight") or out))
        if op == "select" and a["dim"] == 1 and rank in (2, 3):
            return bool(b.layer(op, "SelectTimestep", [x], out, {"index": a["index"]}))
        if op == "transpose" and 0 not in (a["dim0"], a["dim1"]):
            return bool(b.layer(op, "Transpose", [x], out, {"dim0": a["dim0"], "dim1": a["dim1"]}))
        return False


def _tensor_names(args) -> list[str]:
    """The tensor names among serialized arguments or outputs (not numbers, not symbols)."""
    names = []
    for arg in args:
        kind, value = next(iter(arg.items()))
        if kind == "as_tensor":
            names.append(value["name"])
        elif kind in ("as_tensors", "as_optional_tensors"):
            names += [v.get("as_tensor", v)["name"] for v in value
                      if isinstance(v, dict) and "name" in v.get("as_tensor", v)]
    return names


def _args(node: dict) -> dict:
    """{argument name: tensor name | number | list | None} from the serialized node."""
    return {item["name"]: _value(item["arg"]) for item in node["inputs"]}


def _value(arg: dict):
    kind, value = next(iter(arg.items()))
    if kind == "as_tensor":
        return value["name"]
    if kind in ("as_tensors", "as_optional_tensors"):
        return [v.get("as_tensor", v).get("name") if isinstance(v, dict) else v for v in value]
    if kind == "as_none":
        return None
    if kind == "as_sym_ints":
        return [v.get("as_int") for v in value]
    return value  # as_int, as_float, as_bool, as_string, as_ints, as_floats, ...


def _ints(value, rank: int) -> list[int]:
    return list(value) if isinstance(value, list) else [value] * rank


def _sizes(meta: dict) -> list:
    return [s.get("as_int") for s in meta.get("sizes", [])]


def _where(node: dict) -> str:
    """The node's name and, when the program recorded it, the module path it came from."""
    stack = node.get("metadata", {}).get("nn_module_stack", "")
    module = stack.split(";")[-1].split(",")[1] if stack.count(",") >= 2 else ""
    return f"node '{node.get('name', '?')}'" + (f" in module '{module}'" if module else "")
