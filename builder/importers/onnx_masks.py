"""The attention mask of an ONNX module call, evaluated with the listed ONNX operations below on
the file's constants, recorded shapes and probe token ids (see masks)."""
import torch

from builder.importers.masks import MaskEvaluator, MaskPlan, Unproven, check_size, match
from builder.importers.scopes import ModuleCall, depends_on

# ONNX TensorProto element types
DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16,
          11: torch.float64}


def _slice(x, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.dim()
    for start, end, axis, step in zip(starts.tolist(), ends.tolist(), list(axes), list(steps)):
        if step != 1:
            raise Unproven("its mask slices with a step")
        index[int(axis)] = slice(int(start), int(end))
    return x[tuple(index)]


def _reshape(x, shape):
    shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape.tolist())]
    return x.reshape(check_size(shape))


def _expand(x, shape):
    target = torch.broadcast_shapes(tuple(x.shape), tuple(check_size(shape.tolist())))
    return x.broadcast_to(target)


FUNCTIONS = {
    "Identity": lambda a, x: x, "Not": lambda a, x: x.logical_not(),
    "Equal": lambda a, x, y: x == y, "Less": lambda a, x, y: x < y,
    "Greater": lambda a, x, y: x > y, "LessOrEqual": lambda a, x, y: x <= y,
    "GreaterOrEqual": lambda a, x, y: x >= y, "And": lambda a, x, y: x & y,
    "Or": lambda a, x, y: x | y, "Add": lambda a, x, y: x + y, "Sub": lambda a, x, y: x - y,
    "Mul": lambda a, x, y: x * y,
    "Where": lambda a, c, x, y: torch.where(c, x, y),
    "Cast": lambda a, x: x.to(DTYPES[a["to"]]),
    "Trilu": lambda a, x, k=None: (x.triu if a.get("upper", 1) else x.tril)(
        0 if k is None else int(k)),
    "Unsqueeze": lambda a, x, axes: _unsqueeze(x, axes.tolist()),
    "Squeeze": lambda a, x, axes=None: x.squeeze() if axes is None else x.squeeze(tuple(axes.tolist())),
    "Reshape": lambda a, x, shape: _reshape(x, shape), "Expand": lambda a, x, shape: _expand(x, shape),
    "Slice": lambda a, x, *rest: _slice(x, *rest),
    "Concat": lambda a, *xs: torch.cat(xs, a["axis"]),
    "ConstantOfShape": lambda a, shape: torch.zeros(check_size(shape.tolist())) if "value" not in a
    else torch.full(check_size(shape.tolist()), a["value"].item(), dtype=a["value"].dtype),
}


def _unsqueeze(x, axes):
    for axis in sorted(a % (x.dim() + len(axes)) for a in axes):
        x = x.unsqueeze(axis)
    return x


class OnnxMaskEvaluator(MaskEvaluator):
    """Evaluates values of one ONNX graph: `reader` is onnx_import's reader."""

    def __init__(self, reader, probe_batch: int):
        self.reader, self.batch = reader, probe_batch

    def _value(self, name: str, memo: dict):
        if name in memo:
            return memo[name]
        if name in self.reader.consts:
            return self.reader.consts[name]
        node = self.reader.producer.get(name)
        if node is None:
            raise Unproven(f"its mask is computed from the model's input '{name}'")
        if node.op_type == "Shape":
            result = torch.tensor(self._shape(node.input[0], memo))
            a = self.reader.attrs(node)
            result = result[a.get("start", 0):a.get("end", len(result))]
        elif node.op_type in FUNCTIONS:
            args = [self._value(v, memo) if v else None for v in node.input]
            while args and args[-1] is None:
                args.pop()
            a = self.reader.attrs(node)
            if "value" in a:
                a["value"] = torch.from_numpy(self.reader.onnx.numpy_helper.to_array(a["value"]).copy())
            result = FUNCTIONS[node.op_type](a, *args)
            check_size(result.shape)
        else:
            raise Unproven(f"its mask is made by ONNX {node.op_type}, which LayerLoom does not "
                           "evaluate")
        memo[node.output[0]] = result
        return result

    def _shape(self, name: str, memo: dict) -> list[int]:
        """A tensor's full shape: evaluated when it is part of the mask, else as recorded with
        the probe's batch size for the dynamic dimension."""
        try:
            return list(self._value(name, memo).shape)
        except Unproven:
            recorded = self.reader.full_shapes.get(name)
            if recorded is None or sum(d is None for d in recorded) > 1:
                raise Unproven(f"the shape of '{name}' was not recorded") from None
            return [self.batch if d is None else d for d in recorded]


def plan(reader, call: ModuleCall, nodes: list, qkv: list[str]) -> tuple[MaskPlan, str | None]:
    """The mask added to the scores before the call's Softmax, and its value (None: no mask).
    Raises Unproven."""
    softmax = [n for n in nodes if n.op_type == "Softmax"]
    if len(softmax) != 1:
        raise Unproven(f"it has {len(softmax)} softmax operations")
    add = reader.producer.get(softmax[0].input[0])
    if add is None or add.op_type != "Add" or add not in nodes:
        return MaskPlan(), None
    masks = [v for v in add.input if not any(
        depends_on(call, reader.reads, reader.writes, v, x) for x in qkv)]
    if len(masks) != 1:
        raise Unproven("its scores are added to something other than a mask")
    mask, ancestry = masks[0], _ancestry(reader, masks[0])
    inputs = {v for v in ancestry if v in reader.data_inputs}
    if len(inputs) > 1:
        raise Unproven(f"its mask reads {len(inputs)} of the model's inputs")
    tokens = next(iter(inputs), None)
    query, key = reader.shapes.get(qkv[0]), reader.shapes.get(qkv[min(1, len(qkv) - 1)])
    if not query or not key or None in (query[0], key[0]):
        raise Unproven("the shapes of its query and key were not recorded")
    steps = (query[0], key[0])  # batch-first (steps, features) per sample
    if tokens is not None and (reader.elem_types.get(tokens) != 7
                               or reader.shapes.get(tokens) != [steps[1]]):
        raise Unproven(f"its mask is computed from the model's input '{tokens}', which is not "
                       "one token id per key step")
    pads = {int(reader.consts[v]) for n in _nodes(reader, ancestry) if n.op_type == "Equal"
            for v in n.input if v in reader.consts and reader.consts[v].numel() == 1
            and not reader.consts[v].is_floating_point()}

    def evaluate(probe):
        evaluator = OnnxMaskEvaluator(reader, 1 if probe is None else probe.shape[0])
        return evaluator.evaluate(mask, {} if probe is None else {tokens: probe})

    return match(evaluate, steps, tokens, pads), mask


def _ancestry(reader, value: str) -> set[str]:
    """Every value `value` is made from (itself included); a tensor whose shape alone is read
    is not."""
    seen, todo = set(), [value]
    while todo:
        current = todo.pop()
        if current in seen or not current:
            continue
        seen.add(current)
        node = reader.producer.get(current)
        if node is not None and node.op_type not in ("Shape", "Size"):
            todo += list(node.input)
    return seen


def _nodes(reader, values: set[str]) -> list:
    return [reader.producer[v] for v in values if v in reader.producer]


def mask_constants(reader, mask: str | None) -> set[str]:
    """The constants a mask is made from (not weights the layer ignores)."""
    return set() if mask is None else {v for v in _ancestry(reader, mask) if v in reader.consts}
