"""One-click repairs (the Fix objects validate() suggests) and node-id helpers for the editor.

apply_fix never changes its argument: it returns a new Graph, so the user's version survives.
"""
from builder.naming import attr_name
from builder.report import Fix, Problem
from builder.spec import Edge, Graph, GraphError, Node, Position, load_graph

_INSERT_OFFSET_Y = 70.0  # canvas units above the node when its source has no position


def new_node_id(graph: Graph, layer_type: str) -> str:
    """A fresh readable id such as 'flatten_1', unused in `graph`."""
    taken = {node.id for node in graph.nodes}
    base = attr_name(layer_type).lower()
    k = 1
    while f"{base}_{k}" in taken:
        k += 1
    return f"{base}_{k}"


def apply_fix(graph: "Graph | dict", fix: Fix) -> Graph:
    graph = load_graph(graph).model_copy(deep=True)
    node = graph.node(fix.node)
    if node is None:
        raise GraphError([Problem(fix.node, None, f"cannot apply '{fix.label}': there is no "
                                                  f"node '{fix.node}'")])
    if fix.kind == "insert_before":
        _insert_before(graph, node, fix)
    elif fix.kind == "set_param":
        if fix.value is None:
            node.params.pop(fix.field, None)
        else:
            node.params[fix.field] = fix.value
    elif fix.kind == "rename_param" and fix.field in node.params:
        node.params[fix.value] = node.params.pop(fix.field)
    elif fix.kind == "set_type":
        node.type = fix.value
    else:  # a stale fix (the param is already gone) or an unknown kind
        raise GraphError([Problem(fix.node, fix.field, f"cannot apply '{fix.label}' to the "
                                                       "current graph")])
    return graph


def _insert_before(graph: Graph, node: Node, fix: Fix) -> None:
    edge = next((e for e in graph.edges if e.target == node.id and e.port == fix.port), None)
    if edge is None:
        raise GraphError([Problem(node.id, "inputs", f"cannot apply '{fix.label}': nothing is "
                                                     f"connected to port {fix.port}")])
    new_id = new_node_id(graph, fix.layer_type)
    graph.nodes.insert(graph.nodes.index(node), Node(id=new_id, type=fix.layer_type,
                                                     params=dict(fix.params)))
    graph.edges.append(Edge(source=new_id, target=node.id, port=fix.port))
    edge.target, edge.port = new_id, 0
    target_at = graph.layout.get(node.id)
    if target_at is not None:
        source_at = graph.layout.get(edge.source)
        if source_at is not None:  # halfway between the two
            graph.layout[new_id] = Position(x=(source_at.x + target_at.x) / 2,
                                            y=(source_at.y + target_at.y) / 2)
        else:
            graph.layout[new_id] = Position(x=target_at.x, y=target_at.y - _INSERT_OFFSET_Y)
