"""Operations with no catalog layer kept as Opaque nodes (builder.ops.Opaque) instead of gaps.

An operation is kept when it reads only data (no weight, no constant tensor) and the file
recorded its output shape. It computes when it is one of the functions Opaque lists and its
constant arguments fit Opaque's slots (dims, scalar, scalar2, keepdim); otherwise it keeps the
source's name and shape, and compile_graph refuses it by name. Nothing from the file is executed:
`op` only selects an entry of Opaque.OPS.
"""
from builder.ops import Opaque

UNARY = {"exp", "log", "neg", "abs", "sqrt", "rsqrt", "sin", "cos", "erf", "reciprocal"}


def _reduce(name):
    def slots(a):
        dims = a.get("dim")
        dims = [dims] if isinstance(dims, int) else dims
        return (name, {"dims": list(dims), "keepdim": bool(a.get("keepdim", False))}) \
            if dims and set(a) <= {"dim", "keepdim"} else None
    return slots


def _scalar_or_pair(scalar_name: str, pair_name: str | None):
    """aten add/sub/mul/div: a number `other` -> `<op>_scalar`, a tensor -> the two-input op."""
    def slots(a):
        if a.get("alpha", 1) != 1 or a.get("rounding_mode") is not None:
            return None
        other = a.get("other")
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return scalar_name, {"scalar": float(other)}
        return (pair_name, {}) if pair_name and isinstance(other, str) else None
    return slots


# aten op (as in torch.ops.aten.<op>.<overload>) -> args -> (Opaque op, slots) or None
ATEN = {
    **{name: (lambda n: lambda a: (n, {}) if set(a) <= set() else None)(name) for name in UNARY},
    "add": _scalar_or_pair("add_scalar", None), "mul": _scalar_or_pair("mul_scalar", None),
    "sub": _scalar_or_pair("sub_scalar", "sub"), "div": _scalar_or_pair("div_scalar", "div"),
    "pow": lambda a: ("pow_scalar", {"scalar": float(a["exponent"])})
    if isinstance(a.get("exponent"), (int, float)) else None,
    "clamp": lambda a: ("clamp", {"scalar": a.get("min"), "scalar2": a.get("max")})
    if set(a) <= {"min", "max"} else None,
    "maximum": lambda a: ("maximum", {}), "minimum": lambda a: ("minimum", {}),
    "cumsum": lambda a: ("cumsum", {"dims": [a["dim"]]}) if a.get("dtype") is None else None,
    "sum": _reduce("sum"), "amax": _reduce("amax"), "amin": _reduce("amin"),
}


def keep_pt2(reader, index: int, op: str, outs: list[str], where: str) -> bool:
    """Keep .pt2 operation `index` as an Opaque node; False when it must stay a gap."""
    node = reader.nodes[index]
    data = reader.reads[index]
    tensors = [v for item in node["inputs"] for v in _names(item["arg"])]
    if len(outs) != 1 or not data or tensors != data or not _known(reader.shapes.get(outs[0])):
        return False  # several results, a weight read, or no recorded shape
    args = {k: v for k, v in reader.args(index).items() if v not in data}
    source = node["target"].removeprefix("torch.ops.")
    slots = _call(ATEN.get(op), args)
    dtype = "long" if reader.graph["tensor_values"][outs[0]].get("dtype") in (3, 4, 5) else "float"
    _keep(reader.b, source, where, data, outs[0], reader.shapes[outs[0]], dtype, slots)
    return True


def _keep(b, source: str, where: str, inputs: list[str], out: str, shape, dtype: str, slots):
    params = {"op": slots[0] if slots else source, "source_op": source,
              "output_shape": [int(d) for d in shape], "output_dtype": dtype}
    if slots:
        params.update({k: v for k, v in slots[1].items() if v is not None})
    b.keep_opaque(source, where, inputs, out, params, computes=bool(slots) and slots[0] in Opaque.OPS)


def _call(translate, args):
    try:
        return translate(args) if translate else None
    except (KeyError, TypeError, ValueError):
        return None


def _known(shape) -> bool:
    return shape is not None and all(isinstance(d, int) and d >= 0 for d in shape)


def _names(arg: dict) -> list[str]:
    kind, value = next(iter(arg.items()))
    if kind == "as_tensor":
        return [value["name"]]
    if kind in ("as_tensors", "as_optional_tensors"):
        return [v.get("as_tensor", v).get("name") for v in value if isinstance(v, dict)]
    return []


def _onnx_scalar(name):
    """Add/Sub/Mul/Div/Pow of the data by a one-value constant (data first)."""
    return lambda a, consts: (name, {"scalar": float(consts[1])}) \
        if len(consts) == 2 and consts[0] is None and consts[1] is not None \
        and consts[1].numel() == 1 else None


def _onnx_pair(name):
    return lambda a, consts: (name, {}) if len(consts) == 2 and consts == [None, None] else None


def _onnx_reduce(name):
    def slots(a, consts):
        axes = consts[1].tolist() if len(consts) > 1 and consts[1] is not None else a.get("axes")
        if not axes or a.get("noop_with_empty_axes"):
            return None
        return name, {"dims": [int(d) for d in axes], "keepdim": bool(a.get("keepdims", 1))}
    return slots


# ONNX op type -> (attributes, [constant or None per input]) -> (Opaque op, slots) or None
ONNX = {
    **{name.capitalize(): (lambda n: lambda a, consts: (n, {}) if not a else None)(name)
       for name in UNARY - {"rsqrt"}},
    "Add": _onnx_scalar("add_scalar"), "Mul": _onnx_scalar("mul_scalar"),
    "Pow": _onnx_scalar("pow_scalar"),
    "Sub": lambda a, c: _onnx_scalar("sub_scalar")(a, c) or _onnx_pair("sub")(a, c),
    "Div": lambda a, c: _onnx_scalar("div_scalar")(a, c) or _onnx_pair("div")(a, c),
    "Max": _onnx_pair("maximum"), "Min": _onnx_pair("minimum"),
    "CumSum": lambda a, c: ("cumsum", {"dims": [int(c[1])]})
    if not a.get("exclusive") and not a.get("reverse") and c[1] is not None else None,
    "ReduceSum": _onnx_reduce("sum"), "ReduceMax": _onnx_reduce("amax"),
    "ReduceMin": _onnx_reduce("amin"),
}
MAX_CONSTANT_ARGUMENT = 64  # values: a larger constant is a weight, which an Opaque node cannot hold


def keep_onnx(reader, node, where: str) -> bool:
    """Keep ONNX `node` as an Opaque node; False when it must stay a gap."""
    consts = [reader.consts.get(v) if v else None for v in node.input]
    data = [v for v, c in zip(node.input, consts) if v and c is None]
    out = node.output[0] if len(node.output) == 1 else None
    if out is None or not data or not _known(reader.shapes.get(out)) or any(
            c is not None and c.numel() > MAX_CONSTANT_ARGUMENT for c in consts):
        return False
    slots = _call_onnx(ONNX.get(node.op_type), reader.attrs(node), consts)
    dtype = "long" if reader.elem_types.get(out) in (6, 7) else "float"
    _keep(reader.b, node.op_type, where, data, out, reader.shapes[out], dtype, slots)
    return True


def _call_onnx(translate, attrs, consts):
    try:
        return translate(attrs, consts) if translate else None
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError):
        return None
