"""One readable nn.Module class per block, as torchvision writes BasicBlock.

A block's uses differ (the first block of a stage takes 64 channels, the next 128): a constructor
argument that is the same in every use is written as a literal, one that follows a block param
is that param's name, and any other becomes an argument named `<node>_<param>`
(e.g. `conv1_in_channels`). Shapes in comments are given where every use agrees.
"""
from dataclasses import dataclass, field

from builder.blocks import Expansion, expand, is_sequential
from builder.catalog import CATALOG
from builder.codelines import (INDENT, Name, call_text, forward_call, forward_line, init_line,
                               layer_kwargs, shape_text)
from builder.naming import attr_names
from builder.report import Report
from builder.spec import Graph
from builder.structure import wire


@dataclass
class _Class:
    args: list[str] = field(default_factory=list)
    values: dict[str, dict] = field(default_factory=dict)  # instance prefix -> {arg: value}


def block_classes(graph: Graph, report: Report) -> tuple[list[str], dict[str, str]]:
    """The sources of the used blocks' classes (inner blocks first), and per top-level block
    node its constructor call, e.g. `nn.Sequential(BasicBlock(...), BasicBlock(...))`. A block
    that is an nn.Sequential (blocks.is_sequential) gets no class: each use writes its layers."""
    if not graph.blocks:
        return [], {}
    expansion = expand(graph)
    made = _Made(graph, expansion, report)
    sources = [_class_source(graph, name, expansion, report, made)
               for name in _inner_first(graph, {u.block for u in expansion.uses.values()})
               if not is_sequential(graph.blocks[name])]
    calls = {node_id: made.code(expansion.uses[node_id].block, expansion.uses[node_id].repeat,
                                made.kwargs(node_id))
             for node_id in report.order if node_id in expansion.uses}
    return sources, calls


class _Made(dict):
    """The block classes written so far (name -> _Class), and how to write a use of any block.

    A use's constructor arguments are keyed by path: `(repetition, name)` for a class,
    `(repetition, layer number, ..., name)` through an nn.Sequential."""

    def __init__(self, graph: Graph, expansion: Expansion, report: Report):
        super().__init__()
        self.graph, self.expansion, self.report = graph, expansion, report

    def kwargs(self, flat_id: str) -> dict:
        """A node's constructor arguments in one instance; a block use's per repetition."""
        use = self.expansion.uses.get(flat_id)
        if use is None:
            return layer_kwargs(self.report.inner.get(flat_id) or self.report.nodes[flat_id])
        return {(r,) + _path(key): value for r, prefix in enumerate(use.instances)
                for key, value in self._instance_kwargs(use.block, prefix).items()}

    def _instance_kwargs(self, block: str, prefix: str) -> dict:
        if block in self:
            return self[block].values[prefix]
        return {(node.id,) + _path(key): value for node in self.graph.blocks[block].nodes[1:]
                for key, value in self.kwargs(prefix + node.id).items()}

    def code(self, block: str, repeat: int, kwargs: dict) -> str:
        calls = [self._instance_code(block, _below(kwargs, r)) for r in range(repeat)]
        return calls[0] if repeat == 1 else f"nn.Sequential({', '.join(calls)})"

    def _instance_code(self, block: str, kwargs: dict) -> str:
        if block in self:
            return f"{block}({', '.join(f'{key}={value!r}' for key, value in kwargs.items())})"
        items = []
        for node in self.graph.blocks[block].nodes[1:]:
            own = _below(kwargs, node.id)
            items.append(self.code(node.type, node.params.get("repeat", 1), own)
                         if node.type in self.graph.blocks
                         else call_text(CATALOG[node.type].constructor_code, own))
        return f"nn.Sequential({', '.join(items)})"


def _path(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _below(kwargs: dict, head) -> dict:
    """The arguments under one repetition or layer number, keyed by the rest of their path."""
    return {key[1] if len(key) == 2 else key[1:]: value for key, value in kwargs.items()
            if key[0] == head}


def _inner_first(graph: Graph, used: set[str]) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in order:
            for node in graph.blocks[name].nodes:
                if node.type in graph.blocks:
                    visit(node.type)
            order.append(name)
    for name in graph.blocks:
        if name in used:
            visit(name)
    return order


def _class_source(graph: Graph, name: str, expansion: Expansion, report: Report,
                  classes: _Made) -> str:
    block = graph.blocks[name]
    wiring = wire(Graph.model_construct(version=2, name=name, nodes=block.nodes,
                                        edges=block.edges, layout={}, blocks=graph.blocks))
    uses = [u for u in expansion.uses.values() if u.block == name]
    instances = [(prefix, use.args) for use in uses for prefix in use.instances]
    first = instances[0][0]
    names = attr_names([n.id for n in block.nodes])
    local = {}  # instance 0's flat ids -> the local node id
    for node in block.nodes:
        inner_use = expansion.uses.get(first + node.id)
        local[expansion.exits[inner_use.prefix] if inner_use else first + node.id] = node.id
    spoken = {n: names[n] for n in wiring.nodes}  # what forward calls each node's output
    made = _Class(values={prefix: {} for prefix, _ in instances})
    init, body = [], []
    for node_id in wiring.order:
        node = wiring.nodes[node_id]
        info = report.inner.get(first + node_id)
        inner_use = expansion.uses.get(first + node_id)
        if node.type == "Input":
            continue
        sources = _sources(info, inner_use, expansion, report, local, spoken)
        if node.type == "Output":
            spoken[node_id] = sources[0]
            continue
        per_instance = [classes.kwargs(prefix + node_id) for prefix, _ in instances]
        kwargs = {key: _argument(key, [kw[key] for kw in per_instance], instances, block,
                                 names[node_id], made) for key in per_instance[0]}
        init.append(init_line(names[node_id], classes.code(node.type, inner_use.repeat, kwargs)
                              if inner_use else
                              call_text(CATALOG[node.type].constructor_code, kwargs)))
        exits = [report.inner[expansion.exits[p + node_id]] if inner_use else
                 report.inner[p + node_id] for p, _ in instances]
        shapes = {(i.output_shape, i.dtype) for i in exits}
        comment = shape_text(*shapes.pop()) if len(shapes) == 1 else None
        call = forward_call(info, f"self.{names[node_id]}", sources)
        body.append(forward_line(names[node_id], call, comment))
    declared = [a for a in block.params if a in made.args]  # the block's own params first
    made.args = declared + [a for a in made.args if a not in declared]
    for prefix in made.values:  # keyword order as in the signature
        made.values[prefix] = {a: made.values[prefix][a] for a in made.args}
    classes[name] = made
    ports = [names[n] for n in wiring.input_ids]
    signature = ", ".join(["self"] + made.args)
    return (f"class {name}(nn.Module):\n{INDENT[:4]}\"\"\"Block {name}: inputs "
            f"{', '.join(ports)}.\"\"\"\n\n{INDENT[:4]}def __init__({signature}):\n"
            f"{INDENT}super().__init__()\n" + "\n".join(init)
            + f"\n\n{INDENT[:4]}def forward({', '.join(['self'] + ports)}):\n"
            + "\n".join(body) + f"\n{INDENT}return {spoken[wiring.output_ids[0]]}\n")


def _sources(info, inner_use, expansion, report, local, spoken) -> list[str]:
    """The forward names a node reads, by port, from instance 0's flat node ids."""
    if inner_use is not None:  # a nested block reads what its port nodes read
        flat = [s for e in expansion.entries[inner_use.prefix] for s in report.inner[e].inputs]
    else:
        flat = list(info.inputs) if info is not None else []
    return [spoken[local[s]] for s in flat]


def _argument(key, values: list, instances, block, node_name: str, made: _Class):
    """A literal when every instance agrees, else the block param that matches, else a new
    constructor argument of the block class."""
    if all(v == values[0] and type(v) is type(values[0]) for v in values):
        return values[0]
    key_name = "_".join(str(part) for part in key[1:]) if isinstance(key, tuple) else key
    param = next((p for p in block.params
                  if all(args.get(p) == v for (_, args), v in zip(instances, values))), None)
    same = next((a for a in made.args  # e.g. the skip projection's input = conv1's input
                 if all(made.values[prefix].get(a) == v
                        for (prefix, _), v in zip(instances, values))), None)
    arg = param or same or f"{node_name}_{key_name}"
    if arg not in made.args:
        made.args.append(arg)
        for (prefix, _), value in zip(instances, values):
            made.values[prefix][arg] = value
    return Name(arg)
