"""Module calls: the source operations one torch module's forward produced, read from the module
path each operation records (.pt2 `nn_module_stack`, ONNX `namespace` metadata).

torch.export decomposes a MultiheadAttention into some thirty operations (and ONNX wraps a
recurrent layer in shape bookkeeping); mapping the whole call to one catalog layer is exact where
mapping the pieces is not. Only torch's own classes are recognised, by their full name: a
subclass may override forward, so its pieces are mapped one by one.
"""
from collections import Counter
from collections.abc import Callable
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
                 writes: list[list[str]], outputs: list[str],
                 recognised: dict[str, str] = RECOGNISED) -> dict[int, ModuleCall]:
    """The recognised module calls by the index of their first operation. `reads[i]`/`writes[i]`
    are operation i's data values (weights, constants and shape bookkeeping left out)."""
    calls: list[ModuleCall] = []
    previous = None
    for index, stack in enumerate(stacks):
        scope = next(((path, recognised[cls]) for path, cls in stack if cls in recognised), None)
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


@dataclass
class Planned:
    """A call that maps: `build()` describes it to the builder. `ports` are the layer's inputs;
    `drop` the values the call reads that are not: its mask, now in the layer's params, or
    values it reads without using them (torch builds a mask it then ignores when told
    is_causal)."""

    build: Callable[[], object]
    ports: list[str | None]
    drop: set[str] = field(default_factory=set)


def planned_calls(calls: dict[int, ModuleCall], plans: dict[int, "Planned | str"],
                  notes: list[str]) -> dict[int, tuple[Planned, ModuleCall]]:
    """The calls that map, by their first operation; each other one gets a report line."""
    for index, plan in plans.items():
        if isinstance(plan, str):
            notes.append(f"{calls[index].type_} '{calls[index].path}' mapped op by op: {plan}")
    return {index: (plan, calls[index]) for index, plan in plans.items()
            if isinstance(plan, Planned)}


def mask_only_ops(reads: list[list[str]], writes: list[list[str]], outputs: list[str],
                  data_inputs: set[str], planned: dict[int, tuple[Planned, ModuleCall]]) -> set[int]:
    """The operations outside the mapped calls that only make what those calls drop (a causal
    mask, `tokens == 0`, made by the module calling them), and constant work nothing reads (a
    mask torch built and then ignored): the masks are in the layers' params."""
    mapped = {i for _, call in planned.values() for i in call.indices}
    needed = set(outputs).union(*(plan.ports for plan, _ in planned.values()))
    producer = {v: i for i, outs in enumerate(writes) for v in outs}
    readers: dict[str, set[int]] = {}
    for i, values in enumerate(reads):
        for v in values:
            if writes[i]:  # an operation making no data (ONNX Shape, .pt2 sym_size) needs none
                readers.setdefault(v, set()).add(i)

    def ancestry(values) -> set[int]:
        ops, todo = set(), list(values)
        while todo:
            index = producer.get(todo.pop())
            if index is not None and index not in ops and index not in mapped:
                ops.add(index)
                todo += reads[index]
        return ops

    masks = ancestry([v for plan, _ in planned.values() for v in plan.drop])
    for index, values in enumerate(writes):
        if values and index not in mapped and not any(v in needed or v in readers for v in values):
            unread = ancestry(values)
            if not any(v in data_inputs for i in unread for v in reads[i]):
                masks |= unread
    while True:
        keep = masks | mapped
        used = {i for i in masks for v in writes[i] if v in needed or readers.get(v, set()) - keep}
        if not used:
            return masks
        masks -= used
