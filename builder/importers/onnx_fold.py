"""Fold the constant arithmetic an ONNX exporter leaves around weights (an LSTM's gates are
sliced, reordered and concatenated in the graph) into plain tensors.

Only the operations below are evaluated, each a torch call on tensors already read from the
file; none of them makes a tensor larger than its inputs together, so the file's own bounds hold.
"""
import torch


def _slice(data, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes.tolist()
    steps = [1] * len(starts) if steps is None else steps.tolist()
    index = [slice(None)] * data.dim()
    for axis, start, end, step in zip(axes, starts.tolist(), ends.tolist(), steps):
        if step < 1:
            raise ValueError("a negative Slice step is not folded")
        index[axis] = slice(start, end, step)
    return data[tuple(index)]


def _unsqueeze(data, axes):
    for axis in sorted(a % (data.dim() + len(axes)) for a in axes.tolist()):
        data = data.unsqueeze(axis)
    return data


FOLDABLE = {
    "Slice": lambda attrs, *ins: _slice(*ins),
    "Concat": lambda attrs, *ins: torch.cat(ins, dim=attrs["axis"]),
    "Unsqueeze": lambda attrs, data, axes: _unsqueeze(data, axes),
    "Squeeze": lambda attrs, data, axes=None: (data.squeeze() if axes is None
                                               else data.squeeze(tuple(axes.tolist()))),
    "Transpose": lambda attrs, data: data.permute(*attrs.get("perm", range(data.dim())[::-1])),
    "Reshape": lambda attrs, data, shape: data.reshape([d if d else data.shape[i]
                                                         for i, d in enumerate(shape.tolist())]),
    "Identity": lambda attrs, data: data,
}


def fold(op: str, attrs: dict, inputs: list[torch.Tensor | None]) -> torch.Tensor | None:
    """The constant result of `op`, or None when it is not one of the foldable operations or its
    inputs do not fit it."""
    while inputs and inputs[-1] is None:  # trailing optional inputs left out
        inputs = inputs[:-1]
    if op not in FOLDABLE or any(t is None for t in inputs):  # e.g. computed from a shape
        return None
    try:
        result = FOLDABLE[op](attrs, *inputs)
    except (RuntimeError, ValueError, TypeError, IndexError, KeyError):
        return None
    return result.contiguous() if result.numel() <= sum(t.numel() for t in inputs) else None
