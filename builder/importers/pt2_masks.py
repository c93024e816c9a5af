"""The attention mask of a .pt2 module call, evaluated with the listed torch functions below on
the program's constants, buffers and probe token ids (see masks)."""
import operator

import torch

from builder.importers.masks import MaskEvaluator, MaskPlan, Unproven, check_size, match

# torch.export's ScalarType codes
DTYPES = {1: torch.uint8, 2: torch.int8, 3: torch.int16, 4: torch.int32, 5: torch.int64,
          6: torch.float16, 7: torch.float32, 8: torch.float64, 12: torch.bool,
          13: torch.bfloat16}


def _full(a, fill):
    dtype = a.get("dtype") or (torch.bool if isinstance(fill, bool) else
                               torch.long if isinstance(fill, int) else torch.float32)
    return torch.full(check_size(a["size"]), fill, dtype=dtype)


def _like(a, fill):
    return torch.full_like(a["self"], fill, dtype=a.get("dtype") or a["self"].dtype)


def _sizes(a, key):
    return check_size([-1 if d is None else d for d in a[key]])


def _slice(a):
    dim = a.get("dim", 0)
    return a["self"][(slice(None),) * dim + (slice(a.get("start"), a.get("end"), a.get("step", 1)),)]


FUNCTIONS = {
    "full": lambda a: _full(a, a["fill_value"]), "ones": lambda a: _full(a, 1),
    "zeros": lambda a: _full(a, 0), "full_like": lambda a: _like(a, a["fill_value"]),
    "ones_like": lambda a: _like(a, 1), "zeros_like": lambda a: _like(a, 0),
    "arange": lambda a: torch.arange(a.get("start", 0), check_size([a["end"]])[0],
                                     a.get("step", 1), dtype=a.get("dtype")),
    "triu": lambda a: a["self"].triu(a.get("diagonal", 0)),
    "tril": lambda a: a["self"].tril(a.get("diagonal", 0)),
    "masked_fill": lambda a: a["self"].masked_fill(a["mask"], a["value"]),
    "unsqueeze": lambda a: a["self"].unsqueeze(a["dim"]),
    "squeeze": lambda a: a["self"].squeeze(a["dim"]) if "dim" in a else a["self"].squeeze(),
    "view": lambda a: a["self"].reshape(_sizes(a, "size")),
    "reshape": lambda a: a["self"].reshape(_sizes(a, "shape")),
    "_unsafe_view": lambda a: a["self"].reshape(_sizes(a, "size")),
    "expand": lambda a: a["self"].expand(_sizes(a, "size")),
    "slice": _slice,
    "_to_copy": lambda a: a["self"].to(a.get("dtype") or a["self"].dtype),
    "to": lambda a: a["self"].to(a.get("dtype") or a["self"].dtype),
    "eq": lambda a: a["self"] == a["other"], "ne": lambda a: a["self"] != a["other"],
    "lt": lambda a: a["self"] < a["other"], "le": lambda a: a["self"] <= a["other"],
    "gt": lambda a: a["self"] > a["other"], "ge": lambda a: a["self"] >= a["other"],
    "logical_not": lambda a: a["self"].logical_not(),
    "bitwise_not": lambda a: a["self"].bitwise_not(),
    "logical_or": lambda a: a["self"].logical_or(a["other"]),
    "logical_and": lambda a: a["self"].logical_and(a["other"]),
    "add": lambda a: a["self"] + a["other"] * a.get("alpha", 1),
    "where": lambda a: torch.where(a["condition"], a["self"], a["other"]),
    "sym_size": lambda a: a["self"].shape[a["dim"]],
}
PASS = {"clone", "contiguous", "alias", "detach", "lift_fresh_copy"}
SCALAR = {"_operator.mul": operator.mul, "_operator.add": operator.add,
          "_operator.sub": operator.sub, "_operator.floordiv": operator.floordiv}


class Pt2MaskEvaluator(MaskEvaluator):
    """Evaluates values of one program: `reader` is pt2_import's reader."""

    def __init__(self, reader):
        self.reader = reader
        self.producer = {}  # every output name (tensors and symbolic ints) -> op index
        for index, node in enumerate(reader.nodes):
            for out in node["outputs"]:
                kind, value = next(iter(out.items()))
                for item in value if isinstance(value, list) else [value]:
                    name = item.get("as_name") or item.get("name") if isinstance(item, dict) else None
                    if name:
                        self.producer[name] = index

    def ancestry(self, name: str) -> tuple[set[int], set[str]]:
        """The operations `name` is made from and the data inputs it reads."""
        ops, inputs, todo = set(), set(), [name]
        while todo:
            value = todo.pop()
            if value in self.reader.data_inputs:
                inputs.add(value)
            index = self.producer.get(value)
            if index is None or index in ops:
                continue
            ops.add(index)
            for item in self.reader.nodes[index]["inputs"]:
                todo += _names(item["arg"])
        return ops, inputs

    def _value(self, name: str, memo: dict):
        if name in memo:
            return memo[name]
        if name in self.reader.data_inputs:
            raise Unproven(f"its mask is computed from the model's input '{name}'")
        if name in self.reader.state_keys:
            tensor = self.reader.weight(name)
            if tensor is None or tensor.is_meta:
                raise Unproven(f"its mask '{self.reader.state_keys[name]}' was not carried")
            memo[name] = tensor
            return tensor
        index = self.producer.get(name)
        if index is None:
            raise Unproven(f"its mask '{name}' is a constant stored as a pickle, which LayerLoom "
                           "never loads")
        node = self.reader.nodes[index]
        target = node["target"]
        op = self.reader.op_name(node).rstrip("_")
        args = {item["name"]: self._arg(item["arg"], memo) for item in node["inputs"]}
        if target in SCALAR:
            result = SCALAR[target](args["a"], args["b"])
        elif op in PASS:
            result = args["self"]
        elif op in FUNCTIONS and target.startswith("torch.ops.aten."):
            result = FUNCTIONS[op](args)
            if isinstance(result, torch.Tensor):
                check_size(result.shape)
        else:
            raise Unproven(f"its mask is made by {target.removeprefix('torch.ops.')}, which "
                           "LayerLoom does not evaluate")
        for out in _output_names(node):
            memo[out] = result
        return result

    def _arg(self, arg: dict, memo: dict):
        kind, value = next(iter(arg.items()))
        if kind == "as_tensor":
            return self._value(value["name"], memo)
        if kind in ("as_sym_int", "as_sym_bool"):
            return self._value(value["as_name"], memo) if "as_name" in value else \
                value.get("as_int", value.get("as_bool"))
        if kind == "as_sym_ints":
            return [self._value(v["as_name"], memo) if "as_name" in v else v["as_int"]
                    for v in value]
        if kind == "as_scalar_type":
            if value not in DTYPES:
                raise Unproven(f"its mask uses dtype code {value}")
            return DTYPES[value]
        if kind == "as_float" and isinstance(value, str):
            return float(value)  # "-Infinity", "Infinity", "NaN"
        if kind == "as_none":
            return None
        return value


def _names(arg: dict) -> list[str]:
    kind, value = next(iter(arg.items()))
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, dict):
            inner = item.get("as_tensor", item)
            names += [n for n in (inner.get("name"), inner.get("as_name")) if isinstance(n, str)]
    return names if kind in ("as_tensor", "as_tensors", "as_optional_tensors", "as_sym_int",
                             "as_sym_ints") else []


def _output_names(node: dict) -> list[str]:
    return [n for out in node["outputs"] for n in _names(out)]


def plan(reader, call_indices: list[int]) -> MaskPlan:
    """The mask of one attention call (its scaled_dot_product_attention, or the baddbmm torch's
    MultiheadAttention adds a mask with when it also returns the weights). Raises Unproven."""
    sites = []
    for index in call_indices:
        op, a = reader.op_name(reader.nodes[index]), reader.args(index)
        if op == "scaled_dot_product_attention":
            sites.append((a.get("attn_mask"), bool(a.get("is_causal")), a["query"],
                          reader.shapes[a["key"]][-2]))  # (batch, heads, keys, head_dim)
        elif op == "baddbmm":  # batch2 is the keys transposed: (batch * heads, head_dim, keys)
            sites.append((a["self"], False, a["batch1"], reader.shapes[a["batch2"]][-1]))
    if len(sites) > 1:
        raise Unproven(f"it computes attention {len(sites)} times")
    if not sites or (sites[0][0] is None and not sites[0][1]):
        return MaskPlan()
    mask, is_causal, query, keys = sites[0]
    queries = reader.shapes[query][-2]
    if mask is None:
        return MaskPlan(causal=True)
    evaluator = Pt2MaskEvaluator(reader)
    ops, inputs = evaluator.ancestry(mask)
    if len(inputs) > 1:
        raise Unproven(f"its mask reads {len(inputs)} of the model's inputs")
    tokens = next(iter(inputs), None)
    if tokens is not None and (reader.input_dtypes[tokens] != "long"
                               or reader.shapes[tokens] != [keys]):
        raise Unproven(f"its mask is computed from the model's input '{tokens}', which is not "
                       f"one token id per key step")
    pads = {reader.args(i).get("other") for i in ops
            if reader.op_name(reader.nodes[i]) in ("eq", "ne")}
    pads = {pad for pad in pads if isinstance(pad, int) and not isinstance(pad, bool)}
    found = match(lambda probe: evaluator.evaluate(mask, {} if probe is None else {tokens: probe}),
                  (int(queries), int(keys)), tokens, pads, is_causal)
    return found

