"""split_components(): the connected parts of one graph as separate graphs.

A GAN is drawn as one canvas holding two unconnected models (generator and discriminator);
training needs them apart.
"""
from builder.spec import Graph, load_graph


def split_components(graph: "Graph | dict") -> list[Graph]:
    """Weakly connected components in the order of their first node; each is named
    '<graph name>/<its first Input id>' (or its first node id when it has no Input)."""
    graph = load_graph(graph)
    root = {node.id: node.id for node in graph.nodes}

    def find(node_id: str) -> str:
        while root[node_id] != node_id:
            root[node_id] = root[root[node_id]]  # path halving keeps the trees flat
            node_id = root[node_id]
        return node_id

    for edge in graph.edges:
        if edge.source in root and edge.target in root:
            root[find(edge.source)] = find(edge.target)
    groups: dict[str, list] = {}
    for node in graph.nodes:
        groups.setdefault(find(node.id), []).append(node)
    return [_subgraph(graph, nodes) for nodes in groups.values()]


def _subgraph(graph: Graph, nodes: list) -> Graph:
    ids = {node.id for node in nodes}
    first = next((n.id for n in nodes if n.type == "Input"), nodes[0].id)
    return Graph(version=graph.version, name=f"{graph.name}/{first}", blocks=graph.blocks,
                 nodes=[n.model_copy(deep=True) for n in nodes],
                 edges=[e.model_copy() for e in graph.edges if e.target in ids],
                 layout={k: v.model_copy() for k, v in graph.layout.items() if k in ids})
