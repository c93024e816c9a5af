"""Which layers read each weight: a weight read by several (weight tying) is imported as one copy
per layer, and GraphBuilder.note_shared_weights says so in the report."""
import hashlib

import torch


def _owners_by_index(calls: dict, done: set[int], count: int) -> dict[int, object]:
    """Each operation that became (part of) a layer -> that layer: its module call's path, or
    itself. Operations left out of the graph (a mask's) are not owners."""
    module_of = {i: call.path for call in calls.values() for i in call.indices}
    return {i: module_of.get(i, i) for i in range(count) if i not in done or i in module_of}


def pt2_owners(reader, calls: dict, done: set[int]) -> dict[str, set]:
    owners: dict[str, set] = {}
    for index, owner in _owners_by_index(calls, done, len(reader.nodes)).items():
        for name in reader.tensor_args(index):
            if name in reader.state_keys:
                owners.setdefault(reader.state_keys[name], set()).add(owner)
    return owners


def onnx_owners(reader, calls: dict, done: set[int]) -> dict[str, set]:
    """By initializer, or by content for tables: torch's exporter stores an output Linear tied
    to an Embedding as a transposed copy, and equal values once (tied or not)."""
    owners: dict[bytes, set] = {}
    names: dict[bytes, str] = {}
    for index, owner in _owners_by_index(calls, done, len(reader.graph.node)).items():
        for v in reader.graph.node[index].input:
            const = reader.consts.get(v)
            if const is not None and const.is_floating_point() and const.numel() > 1:
                key = _content(const) if const.dim() == 2 else v.encode()
                names.setdefault(key, v)
                owners.setdefault(key, set()).add(owner)
    return {names[key]: readers for key, readers in owners.items()}


def _content(table: torch.Tensor) -> bytes:
    """The same key for a table and its transpose."""
    return min(_digest(table) + str(list(table.shape)).encode(),
               _digest(table.T) + str(list(table.T.shape)).encode())


def _digest(tensor: torch.Tensor) -> bytes:
    return hashlib.sha256(tensor.contiguous().view(-1).view(torch.uint8).numpy()).digest()
