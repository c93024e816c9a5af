"""Opaque: an operation kept from an imported model that no catalog layer computes exactly."""
from math import prod

import torch

from builder.catalog.registry import LayerSpec, NodeCall, register
from builder.ops import Opaque
from builder.params import ParamSpec


def _opaque_shape(call: NodeCall):
    """A listed op's shape follows from its inputs (run on meta tensors, which hold no data);
    any other op keeps the output shape the imported file recorded."""
    params = call.params
    call.out_dtype = params["output_dtype"]
    if params["op"] not in Opaque.OPS:
        if params["output_shape"] is None:
            call.error("an operation LayerLoom cannot compute needs its output_shape", "output_shape")
        return tuple(params["output_shape"])
    dtypes = {"float": torch.float32, "long": torch.int64}
    inputs = [torch.empty((2, *shape), dtype=dtypes[dtype], device="meta")
              for shape, dtype in zip(call.shapes, call.dtypes)]
    module = Opaque(**{k: params[k] for k in ("op", "dims", "scalar", "scalar2", "keepdim")})
    try:
        out = module(*inputs)
    except (RuntimeError, TypeError, IndexError, KeyError) as exc:
        call.error(f"{params['op']} does not accept these inputs ({exc})")
    if out.dim() == 0 or out.shape[0] != 2:
        call.error(f"{params['op']} must keep the batch dimension (dims start at 1)", "dims")
    return tuple(out.shape[1:])


register(LayerSpec(
    "Opaque", "Imported", "A step from an imported model with no layer: some still compute, "
    "others only show shapes.",
    _opaque_shape, ports=("inputs",), variadic=True, accepts="any", constructor="Opaque",
    cost=lambda params, inputs, out: (0, prod(out)),
    params=(ParamSpec("op", "text", "", "What it computes: one of the listed operations, or "
                      "the source's name when LayerLoom cannot compute it."),
            ParamSpec("source_op", "text", "", "The operation's name in the imported file."),
            ParamSpec("dims", "ints", None, "Dimensions it works along (torch numbering).",
                      min=-64, max=64),
            ParamSpec("scalar", "float", None, "Its constant number (e.g. the exponent)."),
            ParamSpec("scalar2", "float", None, "A second constant (clamp's upper bound)."),
            ParamSpec("keepdim", "bool", False, "Keep reduced dimensions as size 1."),
            ParamSpec("output_shape", "shape", None, "Output shape recorded in the file (per "
                      "sample).", min=0, max=1 << 24, ctor=False),
            ParamSpec("output_dtype", "dtype", "float", "Output dtype recorded in the file.",
                      ctor=False))))
