"""Graph structure checks: ids, types, edges, ports, cycles, and a topological order.

Everything here is about wiring; shapes come later (builder.inference).
"""
import difflib
import heapq
from dataclasses import dataclass, field

from builder.blocks import block_ports
from builder.catalog import CATALOG
from builder.report import Fix, Problem
from builder.spec import Graph, Node


@dataclass
class Wiring:
    nodes: dict[str, Node]  # first node with each id, in file order
    sources: dict[str, list[str]] = field(default_factory=dict)  # per node, sources by port
    ports: dict[str, list[int]] = field(default_factory=dict)  # the port of each source
    order: list[str] = field(default_factory=list)  # topological, ties broken by file order
    broken: set[str] = field(default_factory=set)  # wired wrongly: no shape can be inferred
    input_ids: list[str] = field(default_factory=list)
    output_ids: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def wire(graph: Graph) -> Wiring:
    wiring = Wiring(nodes={})
    for node in graph.nodes:
        if node.id in wiring.nodes:
            wiring.problems.append(Problem(node.id, "id", f"two nodes share the id '{node.id}'; "
                                                          "give each node its own id"))
        else:
            wiring.nodes[node.id] = node
            _check_type(node, graph, wiring)
    incoming = _collect_edges(graph, wiring)
    for node_id, edges in incoming.items():
        node = wiring.nodes[node_id]
        spec = CATALOG.get(node.type)  # a block named like a layer type is refused elsewhere
        if spec is None and node.type in graph.blocks:
            spec = block_ports(graph.blocks[node.type])
        _check_ports(node, spec, sorted(edges), wiring)
    _order(wiring, incoming)
    _find_ends(wiring, incoming)
    return wiring


def _check_type(node: Node, graph: Graph, wiring: Wiring) -> None:
    if node.type in CATALOG or node.type in graph.blocks:
        return
    # A fix never changes what a model computes behind the user's back: only a different
    # spelling of the same type is a plain "Change type"; a merely similar name (ReLU7 -> ReLU6)
    # is offered as what it is, a different layer.
    same = {name.lower(): name for name in CATALOG}.get(node.type.lower())
    similar = next(iter(difflib.get_close_matches(node.type, CATALOG, n=1, cutoff=0.6)), None)
    message, fix = f"unknown layer type '{node.type}'", None
    if same:
        message += f" (did you mean '{same}'?)"
        fix = Fix("set_type", node.id, f"Change type to {same}", value=same)
    elif similar:
        message += f" (the closest is '{similar}', a different layer: check it is what you mean)"
        fix = Fix("set_type", node.id, f"Replace with {similar} (a different layer)",
                  value=similar)
    wiring.problems.append(Problem(node.id, "type", message, fix))
    wiring.broken.add(node.id)


def _collect_edges(graph: Graph, wiring: Wiring) -> dict[str, list[tuple[int, int, str]]]:
    """Per target: (port, edge index, source) for every edge whose ends both exist."""
    incoming: dict[str, list[tuple[int, int, str]]] = {node_id: [] for node_id in wiring.nodes}
    for index, edge in enumerate(graph.edges):
        where = f"edges[{index}]"
        missing = [end for end in (edge.source, edge.target) if end not in wiring.nodes]
        if missing:
            known = edge.target if edge.target in wiring.nodes else None
            wiring.problems.append(Problem(known, where, f"edge {edge.source} -> {edge.target} "
                                           f"refers to '{missing[0]}', which is not a node"))
        elif edge.source == edge.target:
            wiring.problems.append(Problem(edge.target, where,
                                           f"'{edge.target}' is connected to itself"))
        else:
            incoming[edge.target].append((edge.port, index, edge.source))
    return incoming


def _check_ports(node: Node, spec, edges: list[tuple[int, int, str]], wiring: Wiring) -> None:
    """`spec`: the node's LayerSpec, or a block's BlockPorts (None: unknown type)."""
    if spec is None:
        return
    problems_before = len(wiring.problems)
    label = f"{node.type} '{node.id}'"
    if spec.variadic:
        if len(edges) < spec.min_inputs:
            _add(wiring, node.id, f"{label} needs at least {spec.min_inputs} inputs, "
                                  f"has {len(edges)}")
    else:
        _check_fixed_ports(node, label, spec, edges, wiring)
    if len(wiring.problems) > problems_before:
        wiring.broken.add(node.id)
    wiring.sources[node.id] = [source for _, _, source in edges]
    wiring.ports[node.id] = [port for port, _, _ in edges]


def _check_fixed_ports(node, label, spec, edges, wiring) -> None:
    ports, filled = spec.all_ports, len(spec.ports)  # token ports are never filled from others
    if not ports and edges:
        _add(wiring, node.id, f"{label} takes no inputs, but '{edges[0][2]}' is connected to it")
        return
    by_port: dict[int, list[str]] = {}
    for port, _, source in edges:
        if port >= len(ports):
            names = ", ".join(ports)
            _add(wiring, node.id, f"{label} has {len(ports)} input port(s) ({names}); the edge "
                                  f"from '{source}' targets port {port}")
        by_port.setdefault(port, []).append(source)
    for port, sources in by_port.items():
        if len(sources) > 1 and port < len(ports):
            _add(wiring, node.id, f"port '{ports[port]}' of {label} has {len(sources)} inputs "
                                  f"({', '.join(sources)}); merge them with Add or Concat first")
    for port, name in enumerate(ports):
        if port < spec.min_inputs and port not in by_port:
            what = "its input" if len(ports) == 1 else f"its '{name}' port"
            _add(wiring, node.id, f"{label} has nothing connected to {what}")
        elif (spec.min_inputs <= port < filled and port not in by_port
              and any(port < p < filled for p in by_port)):
            _add(wiring, node.id, f"port '{name}' of {label} is empty while a later port is used")


def _add(wiring: Wiring, node_id: str, message: str) -> None:
    wiring.problems.append(Problem(node_id, "inputs", message))


def _order(wiring: Wiring, incoming: dict[str, list[tuple[int, int, str]]]) -> None:
    """Kahn's algorithm with file order as tie-break; nodes left over sit on or after a cycle."""
    position = {node_id: i for i, node_id in enumerate(wiring.nodes)}
    consumers: dict[str, list[str]] = {node_id: [] for node_id in wiring.nodes}
    waiting = {node_id: len(edges) for node_id, edges in incoming.items()}
    for target, edges in incoming.items():
        for _, _, source in edges:
            consumers[source].append(target)
    ready = [(position[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    while ready:
        _, node_id = heapq.heappop(ready)
        wiring.order.append(node_id)
        for target in consumers[node_id]:
            waiting[target] -= 1
            if waiting[target] == 0:
                heapq.heappush(ready, (position[target], target))
    stuck = [n for n in wiring.nodes if waiting[n] > 0]
    for cycle in _cycles(stuck, incoming):
        path = " -> ".join(cycle + cycle[:1])
        wiring.problems.append(Problem(cycle[0], "inputs", f"cycle: {path}; a layer cannot "
                                                           "feed its own input"))


def _cycles(stuck: list[str], incoming: dict[str, list[tuple[int, int, str]]]) -> list[list[str]]:
    """One loop per cycle among the stuck nodes. Every stuck node has a stuck source, so walking
    sources backwards always ends on a repeat; nodes merely downstream of a cycle add nothing."""
    stuck_set, found, seen = set(stuck), [], set()
    for start in stuck:
        path, on_path, node = [], {}, start
        while node not in on_path and node not in seen:
            on_path[node] = len(path)
            path.append(node)
            node = next(src for _, _, src in incoming[node] if src in stuck_set)
        if node in on_path:
            loop = path[on_path[node]:][::-1]  # reversed: edges point forward
            first = loop.index(min(loop, key=stuck.index))  # start at its first node in the file
            found.append(loop[first:] + loop[:first])
        seen.update(path)
    return found


def _find_ends(wiring: Wiring, incoming: dict[str, list[tuple[int, int, str]]]) -> None:
    nodes = wiring.nodes.values()
    wiring.input_ids = [n.id for n in nodes if n.type == "Input"]
    outputs = [n.id for n in nodes if n.type == "Output"]
    feeding = {source for edges in incoming.values() for _, _, source in edges}
    for node_id in outputs:
        if node_id in feeding:
            _add(wiring, node_id, f"Output '{node_id}' is an end point; it cannot feed other nodes")
    sinks = [n.id for n in nodes if n.id not in feeding and n.type != "Input"]
    wiring.output_ids = outputs or sinks or list(wiring.input_ids)
    if not wiring.nodes:
        wiring.problems.append(Problem(None, "nodes", "the graph is empty: start with an Input"))
    elif not wiring.input_ids:
        wiring.problems.append(Problem(None, "nodes", "the graph has no Input node"))
