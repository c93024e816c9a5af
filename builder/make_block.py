"""make_block(): turn connected layers of a graph into a block (graph format version 2), used once
where they were and wired the same way, so the model computes exactly what it did.

The canvas's "Make block" sends the selected node ids and a name; the result is a new graph (the
old one is untouched). What flowed into the selection becomes the block's Input nodes (one per
outside source, in node order: the use's ports); the one selected layer whose output leaves the
selection is the block's output. A selection that cannot be one block is a CannotMakeBlock saying
why, naming the layers.
"""
from builder.blocks import PLACEHOLDER, bad_block_name
from builder.fixes import new_node_id
from builder.naming import attr_name
from builder.spec import Block, Graph, load_graph

INPUT_GAP = 90.0  # px above the selection's top where the block's Input nodes go


class CannotMakeBlock(ValueError):
    """The selection cannot become a block; the message says why, in the person's terms."""


def make_block(graph: "Graph | dict", node_ids: list[str], name: str,
               within: str | None = None) -> Graph:
    """`node_ids` of the model, or of block `within` (an opened block on the canvas: the new block
    is used inside it, and takes the block params its layers name as "$param" along)."""
    graph = load_graph(graph)
    if within is not None and within not in graph.blocks:
        raise CannotMakeBlock(f"the graph has no block {within}")
    part = graph if within is None else graph.blocks[within]  # both have nodes, edges, layout
    chosen = _check_selection(graph, part, node_ids, name)
    inside = [e for e in part.edges if e.source in chosen and e.target in chosen]
    incoming = [e for e in part.edges if e.source not in chosen and e.target in chosen]
    outgoing = [e for e in part.edges if e.source in chosen and e.target not in chosen]
    _check_one_exit(part, chosen, outgoing)

    order = [n.id for n in part.nodes]
    sources = sorted({e.source for e in incoming}, key=order.index)  # the use's ports, in order
    taken = set(chosen)
    ports = {source: _fresh("x" if len(sources) == 1 else f"x{k}", taken)
             for k, source in enumerate(sources, start=1)}
    nodes = [{"id": ports[s], "type": "Input", "params": {}} for s in sources]
    nodes += [n.model_dump() for n in part.nodes if n.id in chosen]
    edges = [{"source": ports[e.source], "target": e.target, "port": e.port} for e in incoming]
    edges += [e.model_dump() for e in inside]
    # (the exit feeds nothing inside: with no cycles every path inside ends at it, so it is the
    # block's one dead end, its output)
    passed = sorted({p for n in part.nodes if n.id in chosen for v in n.params.values()
                     for p in _placeholders(v)})
    outer = graph.blocks[within].params if within else {}
    passed = [p for p in passed if p in outer]  # (a misspelt one stays a problem, named inside)

    use_id = _use_id(part, chosen, name)
    at = next(n for n in part.nodes if n.id in chosen)  # the use takes the first layer's place
    rewritten = {
        "nodes": [{"id": use_id, "type": name, "params": {p: f"${p}" for p in passed}}
                  if n.id == at.id else n.model_dump()
                  for n in part.nodes if n.id not in chosen or n.id == at.id],
        "edges": [e.model_dump() for e in part.edges
                  if e.source not in chosen and e.target not in chosen]
        + [{"source": s, "target": use_id, "port": k} for k, s in enumerate(sources)]
        + [{"source": use_id, "target": e.target, "port": e.port} for e in outgoing],
        "layout": {i: p.model_dump() for i, p in part.layout.items() if i not in chosen}}
    top_left = _top_left(part, chosen)
    if top_left is not None:
        rewritten["layout"][use_id] = {"x": top_left[0], "y": top_left[1]}
    data = graph.to_dict()
    data["version"] = 2
    data["blocks"] = {**data.get("blocks", {}), name: {
        "params": {p: outer[p] for p in passed}, "nodes": nodes, "edges": edges,
        "layout": _block_layout(part, chosen, sources, ports)}}
    if within is None:
        data.update(rewritten)
    else:
        data["blocks"][within] = {**data["blocks"][within], **rewritten}
    return load_graph(data)


def _placeholders(value) -> set[str]:
    """The block params a param value names as "$name" (also inside lists)."""
    if isinstance(value, list):
        return {p for item in value for p in _placeholders(item)}
    match = PLACEHOLDER.fullmatch(value) if isinstance(value, str) else None
    return {match.group(1)} if match else set()


def _check_selection(graph: Graph, part, node_ids: list[str], name: str) -> set[str]:
    if bad_block_name(name):
        raise CannotMakeBlock(f"'{name}' cannot name a block: use a Python-style name (letters, "
                              "digits, _, not starting with a digit) that is not a layer type, "
                              "such as ConvBlock")
    if name in graph.blocks:
        raise CannotMakeBlock(f"this graph already has a block named {name}; choose another name")
    known = {n.id: n for n in part.nodes}
    missing = [i for i in node_ids if i not in known]
    if missing:
        raise CannotMakeBlock(f"the graph has no layer {', '.join(map(repr, missing))}")
    chosen = set(node_ids)
    if not chosen:
        raise CannotMakeBlock("select the layers to put in the block first")
    ends = [i for i in node_ids if known[i].type in ("Input", "Output")]
    if ends:
        level = "model" if part is graph else "block"
        raise CannotMakeBlock(f"{', '.join(ends)} is the {level}'s {known[ends[0]].type.lower()}: "
                              "a block holds layers between inputs and outputs; "
                              "leave it out of the selection")
    _check_connected(part, chosen, node_ids)
    _check_nothing_goes_out_and_back(part, chosen)
    return chosen


def _check_connected(part: "Graph | Block", chosen: set[str], node_ids: list[str]) -> None:
    neighbours = {i: set() for i in chosen}
    for e in part.edges:
        if e.source in chosen and e.target in chosen:
            neighbours[e.source].add(e.target)
            neighbours[e.target].add(e.source)
    reached, todo = {node_ids[0]}, [node_ids[0]]
    while todo:
        for other in neighbours[todo.pop()] - reached:
            reached.add(other)
            todo.append(other)
    apart = [i for i in node_ids if i not in reached]
    if apart:
        raise CannotMakeBlock(f"the selected layers are not connected: {', '.join(apart)} is not "
                              f"wired to {node_ids[0]} through the selection; a block is one "
                              "connected piece")


def _check_nothing_goes_out_and_back(part: "Graph | Block", chosen: set[str]) -> None:
    """A path that leaves the selection and comes back would make the block feed itself."""
    after: dict[str, list[str]] = {}
    for e in part.edges:
        after.setdefault(e.source, []).append(e.target)
    outside = {t for s in chosen for t in after.get(s, []) if t not in chosen}
    todo = list(outside)
    while todo:
        for target in after.get(todo.pop(), []):
            if target in chosen:
                between = ", ".join(sorted(outside))
                raise CannotMakeBlock(f"{target} reads from the selection through {between}, "
                                      "which is not selected: select the layers in between too")
            if target not in outside:
                outside.add(target)
                todo.append(target)


def _check_one_exit(part: "Graph | Block", chosen: set[str], outgoing) -> None:
    """One selected layer, and only one, sends its output out of the selection (or ends the
    model): the block's output."""
    feeding = {e.source for e in part.edges}
    exits = list(dict.fromkeys([e.source for e in outgoing]
                               + [n.id for n in part.nodes if n.id in chosen
                                  and n.id not in feeding]))
    if len(exits) != 1:
        raise CannotMakeBlock(f"a block has one output, but {' and '.join(exits)} each send "
                              "their output out of the selection; select fewer or more layers")


def _use_id(part: "Graph | Block", chosen: set[str], name: str) -> str:
    wanted = attr_name(name).lower()
    taken = {n.id for n in part.nodes if n.id not in chosen}
    return wanted if wanted not in taken else new_node_id(part, name)


def _fresh(base: str, taken: set[str]) -> str:
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}{k}"
    taken.add(name)
    return name


def _top_left(part: "Graph | Block", chosen: set[str]) -> tuple[float, float] | None:
    placed = [part.layout[i] for i in chosen if i in part.layout]
    if not placed:
        return None
    return min(p.x for p in placed), min(p.y for p in placed)


def _block_layout(part: "Graph | Block", chosen, sources, ports) -> dict:
    """The layers keep their arrangement; the Input nodes go in a row above them."""
    top_left = _top_left(part, chosen)
    if top_left is None:
        return {}  # the canvas arranges a block without positions when it is opened
    left, top = top_left
    layout = {i: {"x": part.layout[i].x - left, "y": part.layout[i].y - top + INPUT_GAP}
              for i in chosen if i in part.layout}
    for k, source in enumerate(sources):
        layout[ports[source]] = {"x": k * 180.0, "y": 0.0}
    return layout
