"""Module calls: the source operations one torch module's forward produced, read from the module
path each operation records (.pt2 `nn_module_stack`, ONNX `namespace` metadata).

torch.export decomposes a MultiheadAttention into some thirty operations (and ONNX wraps a
recurrent layer in shape bookkeeping); mapping the whole call to one catalog layer is exact where
mapping the pieces is not. Only torch's own classes are recognised, by their full name: a
subclass may override forward, so its pieces are mapped one by one.
"""
from collections import Counter
from dataclasses import dataclass, field

RECOGNISED = {"torch.nn.modules.activation.MultiheadAttention": "MultiheadAttention",
              "torch.nn.modules.rnn.LSTM": "LSTM", "torch.nn.modules.rnn.GRU": "GRU",
              "torch.nn.modules.transformer.TransformerEncoderLayer": "TransformerEncoderLayer"}


@dataclass
class ModuleCall:
    """One call of a recognised module: its path (`layers.0.att`), catalog type, and the indices
    of the source operations it made; `inputs`/`outputs` are the data values crossing its edge."""

    path: str
    type_: str
    indices: list[int]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def pt2_stack(node: dict) -> list[tuple[str, str]]:
    """[(module path, class name)] outermost first, from 'key,path,class;key,path,class'."""
    stack = node.get("metadata", {}).get("nn_module_stack", "")
    entries = [entry.rsplit(",", 2) for entry in stack.split(";") if entry.count(",") >= 2]
    return [(path, cls) for _key, path, cls in entries]


def onnx_stack(node) -> list[tuple[str, str]]:
    """[(module path, class name)] from ': __main__.M/att: torch...MultiheadAttention/op: aten.x'
    (the last entry is the operation itself)."""
    namespace = next((p.value for p in node.metadata_props if p.key == "namespace"), "")
    entries = [entry.rsplit(": ", 1) for entry in namespace.split("/")[:-1]]
    return [(entry[0].strip(), entry[1]) for entry in entries if len(entry) == 2]


def module_calls(stacks: list[list[tuple[str, str]]], reads: list[list[str]],
                 writes: list[list[str]], outputs: list[str]) -> dict[int, ModuleCall]:
    """The recognised module calls by the index of their first operation. `reads[i]`/`writes[i]`
    are operation i's data values (weights, constants and shape bookkeeping left out)."""
    calls: list[ModuleCall] = []
    previous = None
    for index, stack in enumerate(stacks):
        scope = next(((path, RECOGNISED[cls]) for path, cls in stack if cls in RECOGNISED), None)
        if scope is not None and scope == previous:
            calls[-1].indices.append(index)
        elif scope is not None:
            calls.append(ModuleCall(scope[0], scope[1], [index]))
        previous = scope
    uses = Counter(value for values in reads for value in values) + Counter(outputs)
    for call in calls:
        made = {value for i in call.indices for value in writes[i]}
        used_inside = Counter(value for i in call.indices for value in reads[i])
        call.inputs = list(dict.fromkeys(v for i in call.indices for v in reads[i] if v not in made))
        call.outputs = [v for i in call.indices for v in writes[i] if uses[v] > used_inside[v]]
    return {call.indices[0]: call for call in calls}


def first_reader(call: ModuleCall, reads: list[list[str]], value: str) -> int:
    """Index of the first operation of `call` that reads `value`."""
    return next(i for i in call.indices if value in reads[i])


def depends_on(call: ModuleCall, reads: list[list[str]], writes: list[list[str]], value: str,
               source: str) -> bool:
    """Whether `value` (made inside the call) is computed from `source`, within the call."""
    producer = {v: i for i in call.indices for v in writes[i]}
    todo, seen = [value], set()
    while todo:
        current = todo.pop()
        if current == source:
            return True
        if current in seen or current not in producer:
            continue
        seen.add(current)
        todo.extend(reads[producer[current]])
    return False
