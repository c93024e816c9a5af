"""Blocks (graph format version 2): a named sub-graph defined once in `Graph.blocks` and used as
a node type, each use with its own weights, optionally repeated.

expand() turns a graph with blocks into one flat graph that validate() checks like any other:
ids follow the hierarchy ("layer1.0.conv1": use "layer1", repetition 0, inner node "conv1"),
a block's Input nodes become Identity nodes fed by the block node's port edges, and the records
kept on the way (owner, module path, uses) let validate() fold the shapes and costs back onto
the block nodes, and codegen write one class per block.
"""
import dataclasses
import keyword
import re
from dataclasses import dataclass, field

from builder.catalog import CATALOG
from builder.naming import attr_names
from builder.report import Problem
from builder.spec import MAX_EDGES, MAX_NODES, Block, Edge, Graph, Node

MAX_REPEAT = 256
MAX_DEPTH = 8  # blocks inside blocks
PLACEHOLDER = re.compile(r"\$([A-Za-z_]\w*)")


@dataclass(frozen=True)
class BlockPorts:
    """What structure checks need of a block used as a node type (a LayerSpec's port fields)."""

    ports: tuple[str, ...]
    token_ports: tuple[str, ...] = ()
    variadic: bool = False

    @property
    def min_inputs(self) -> int:
        return len(self.ports)

    @property
    def all_ports(self) -> tuple[str, ...]:
        return self.ports


def is_sequential(block: Block) -> bool:
    """A block that is torch's nn.Sequential: one Input, then nodes named 0, 1, ... chained in
    that order. It compiles to an nn.Sequential, so its layers' names (and state_dict keys) are
    their numbers, as in torchvision's `layer2.0.conv1.weight`."""
    items = block.nodes[1:]
    chain = [block.nodes[0].id] + [n.id for n in items] if block.nodes else []
    return (len(block.nodes) >= 2 and block.nodes[0].type == "Input"
            and [n.id for n in items] == [str(i) for i in range(len(items))]
            and all(n.type not in ("Input", "Output") and _plain_call(n) for n in items)
            and sorted((e.source, e.target, e.port) for e in block.edges)
            == sorted((a, b, 0) for a, b in zip(chain, chain[1:])))


def _plain_call(node: Node) -> bool:
    """nn.Sequential calls each item with its input alone: a layer whose forward line passes
    more (a causal mask, `[0]` of attention's result) cannot be one of its items."""
    spec = CATALOG.get(node.type)
    if spec is None:
        return True  # a block use: its module takes its input alone
    params = {p.name: p.default for p in spec.params} | node.params
    return spec.forward_template(params, spec.ports[:1]) in ("{module}({inputs})",
                                                            "{module}({input})")


def block_ports(block: Block) -> BlockPorts:
    """A block's ports are its Input nodes, in node order."""
    return BlockPorts(tuple(n.id for n in block.nodes if n.type == "Input"))


@dataclass
class Use:
    """One block node anywhere in the hierarchy (`prefix` is its flat id)."""

    block: str
    prefix: str
    repeat: int
    args: dict  # the block params it resolved to (defaults filled in)
    instances: list[str] = field(default_factory=list)  # flat id prefix of each repetition


@dataclass
class Expansion:
    graph: Graph  # flat: no block nodes
    owner: dict[str, str] = field(default_factory=dict)  # flat id -> top-level node id
    paths: dict[str, str] = field(default_factory=dict)  # flat id -> module path
    uses: dict[str, Use] = field(default_factory=dict)  # flat id of a block node -> its use
    entries: dict[str, list[str]] = field(default_factory=dict)  # block node -> port nodes
    exits: dict[str, str] = field(default_factory=dict)  # block node -> its output's flat id
    problems: list[Problem] = field(default_factory=list)


class _TooLarge(Exception):
    pass


def expand(graph: Graph) -> Expansion:
    flat = Graph.model_construct(version=graph.version, name=graph.name, nodes=[], edges=[],
                                 layout={}, blocks={})
    expansion = Expansion(flat)
    _check_names(graph, expansion)
    if not expansion.problems:
        try:
            _expand(expansion, graph, graph.nodes, graph.edges, prefix="", path="", args=None,
                    stack=(), owner=None, numbered=False)
        except _TooLarge:
            expansion.problems.append(Problem(None, "blocks", f"the blocks expand to more than "
                                                              f"{MAX_NODES} nodes or {MAX_EDGES} "
                                                              "edges; use fewer repeats"))
    # once, not per repetition (each copy names its own inner node; the first copy's is kept)
    once: dict[tuple, Problem] = {}
    for problem in expansion.problems:
        once.setdefault((problem.node, problem.field, problem.message), problem)
    expansion.problems = list(once.values())
    return expansion


def bad_block_name(name: str) -> bool:
    """A block's name is its class in exported code: a Python name that is not a layer type."""
    from builder.catalog import CATALOG  # the catalog imports nothing from here; kept local
    return not name.isidentifier() or keyword.iskeyword(name) or name in CATALOG or \
        name in ("GraphModule", "torch", "nn")


def _check_names(graph: Graph, expansion: Expansion) -> None:
    for name in graph.blocks:
        if bad_block_name(name):
            expansion.problems.append(Problem(None, "blocks", f"block name '{name}' must be a "
                                              "Python-style name (letters, digits, _) that is "
                                              "not a layer type"))


def _expand(exp: Expansion, graph: Graph, nodes, edges, *, prefix: str, path: str,
            args: dict | None, stack: tuple[str, ...], owner: str | None, numbered: bool) -> dict:
    """Add `nodes` (a graph's or one block instance's) to the flat graph; returns per local id
    (port entry ids or None for a plain node, exit id). `numbered`: an nn.Sequential's nodes,
    whose module names are their ids (0, 1, ...)."""
    names = {n.id: n.id for n in nodes} if numbered else attr_names([n.id for n in nodes])
    ends: dict[str, tuple[list[str] | None, str]] = {}
    for node in nodes:
        flat_id, top = prefix + node.id, owner or node.id
        params = dict(node.params) if args is None else \
            _substitute(exp, node, args, stack, top, flat_id)
        block = graph.blocks.get(node.type)  # (names of layer types were refused up front)
        if block is None:
            layer_type = node.type
            if args is not None and node.type in ("Input", "Output"):  # a block's port / end
                layer_type, params = "Identity", {}
            exp.graph.nodes.append(Node.model_construct(id=flat_id, type=layer_type,
                                                        params=params))
            if len(exp.graph.nodes) > MAX_NODES:
                raise _TooLarge
            exp.owner[flat_id], exp.paths[flat_id] = top, path + names[node.id]
            ends[node.id] = (None, flat_id)
        else:
            if args is not None and isinstance(node.params.get("repeat"), str):
                # one class per block: every use of it must hold the same number of copies
                exp.problems.append(Problem(top, "repeat", f"block {stack[-1]}, node "
                                            f"'{node.id}': repeat inside a block must be a "
                                            "number, not a block parameter", inner=flat_id))
                continue
            used = _use(exp, graph, node, block, params, flat_id, path + names[node.id], stack, top)
            if used is not None:
                ends[node.id] = used
    known = {n.id for n in nodes}  # a node that failed to expand has its problem already
    for edge in edges:
        if edge.source not in ends or edge.target not in ends:
            if args is not None and not {edge.source, edge.target} <= known:
                # (the top level's own wiring check reports its edges)
                exp.problems.append(Problem(owner, "blocks", f"block '{stack[-1]}': edge "
                                            f"{edge.source} -> {edge.target} refers to a node "
                                            "the block does not have"))
            continue
        entries, target = ends[edge.target]
        port = edge.port
        if entries is not None:  # into a block: its port-th Input node
            if port >= len(entries):
                continue  # the wiring check names the bad port
            target, port = entries[port], 0
        exp.graph.edges.append(Edge.model_construct(source=ends[edge.source][1], target=target,
                                                    port=port))
        if len(exp.graph.edges) > MAX_EDGES:
            raise _TooLarge
    return ends


def _use(exp, graph, node, block, params, flat_id, path, stack, top):
    """Expand one block node (all its repetitions); None when it cannot be expanded."""
    where = f"{node.type} '{node.id}'"
    repeat = params.pop("repeat", 1)
    problems = []
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        problems.append(Problem(top, "repeat", f"{where}: repeat must be a whole number from 1 "
                                               f"to {MAX_REPEAT}, got {repeat!r}"))
    for name in params:
        if name not in block.params:
            allowed = ", ".join(block.params) or "none besides repeat"
            problems.append(Problem(top, name, f"{where}: block {node.type} has no parameter "
                                               f"'{name}' (it takes: {allowed})"))
    if node.type in stack or len(stack) >= MAX_DEPTH:
        problems.append(Problem(top, "type", f"{where}: block {node.type} contains itself "
                                             f"({' -> '.join(stack + (node.type,))})"
                                if node.type in stack else f"{where}: blocks nest more than "
                                                           f"{MAX_DEPTH} deep"))
    inputs = block_ports(block).ports
    output = _output_of(block)
    if output is None:
        problems.append(Problem(top, "type", f"{where}: block {node.type} needs exactly one "
                                             "output (one Output node, or one dead end)"))
    if repeat != 1 and len(inputs) != 1:
        problems.append(Problem(top, "repeat", f"{where}: only a block with one input can "
                                               f"repeat; {node.type} has {len(inputs)}"))
    if flat_id != top:  # a use inside a block: the opened block shows them on that node
        problems = [dataclasses.replace(p, inner=flat_id) for p in problems]
    exp.problems += problems
    if problems:
        return None
    use = Use(node.type, flat_id, repeat, {**block.params, **params})
    exp.uses[flat_id] = use
    entries, exit_id = None, None
    for r in range(repeat):
        step = f".{r}." if repeat > 1 else "."
        use.instances.append(flat_id + step)
        ends = _expand(exp, graph, block.nodes, block.edges, prefix=flat_id + step,
                       path=path + step, args=use.args, stack=stack + (node.type,), owner=top,
                       numbered=is_sequential(block))
        ports = [flat_id + step + name for name in inputs]
        if entries is None:
            entries = ports
        else:  # repetition r reads repetition r - 1's output
            exp.graph.edges.append(Edge.model_construct(source=exit_id, target=ports[0], port=0))
        if output not in ends:
            return None
        exit_id = ends[output][1]
    exp.entries[flat_id], exp.exits[flat_id] = entries, exit_id
    return entries, exit_id


def _output_of(block: Block) -> str | None:
    outputs = [n.id for n in block.nodes if n.type == "Output"]
    if not outputs:
        feeding = {e.source for e in block.edges}
        outputs = [n.id for n in block.nodes if n.id not in feeding and n.type != "Input"]
    return outputs[0] if len(outputs) == 1 else None


def _substitute(exp, node, args, stack, top, flat_id) -> dict:
    """Inner params written "$name" take the block param `name` (also inside lists)."""
    def value(name, raw):
        if isinstance(raw, list):
            return [value(name, item) for item in raw]
        match = PLACEHOLDER.fullmatch(raw) if isinstance(raw, str) else None
        if match is None:
            return raw
        if match.group(1) not in args:
            allowed = ", ".join(args) or "none"
            exp.problems.append(Problem(top, name, f"block {stack[-1]}, node '{node.id}': "
                                        f"{raw} names no block parameter (it has: {allowed})",
                                        inner=flat_id))
            return raw
        return args[match.group(1)]
    return {name: value(name, raw) for name, raw in node.params.items()}
