"""Weight tying: a Linear whose `tie_weight` names an Embedding uses that Embedding's table as
its weight (GPT-2's output layer). One tensor, so one set of gradients and one entry on disk.

This module owns the rule (validate's check) and the names (which state_dict key is the alias of
which); codegen writes the tie, GraphModule stores the shared tensor once and re-ties on load.
"""
from builder.report import Fix, Problem, Report
from builder.spec import Graph, Node


def tied_pairs(nodes: "list[Node]") -> dict[str, str]:
    """Tied Linear id -> the Embedding id whose table it uses (params as written)."""
    return {n.id: n.params["tie_weight"] for n in nodes
            if n.type == "Linear" and isinstance(n.params.get("tie_weight"), str)
            and n.params["tie_weight"]}


def tie_problems(nodes: "dict[str, Node]", report: Report) -> list[Problem]:
    """A tie must name an Embedding of the same graph whose (num_embeddings, embedding_dim)
    table equals the Linear's (out_features, in_features) weight."""
    problems = []
    for linear_id, target in tied_pairs(list(nodes.values())).items():
        label = f"Linear '{linear_id}'"
        if target not in nodes:
            problems.append(Problem(linear_id, "tie_weight", (
                f"{label}: tie_weight names '{target}', which is not a node of this graph "
                "(give the id of an Embedding)")))
        elif nodes[target].type != "Embedding":
            problems.append(Problem(linear_id, "tie_weight", (
                f"{label}: tie_weight expects an Embedding, received '{target}', a "
                f"{nodes[target].type}")))
        elif linear_id in report.nodes and target in report.nodes:
            problems += _shape_problem(label, linear_id, target, report)
    return problems


def _shape_problem(label: str, linear_id: str, target: str, report: Report) -> list[Problem]:
    linear = report.nodes[linear_id].resolved_params
    table = report.nodes[target].resolved_params
    weight = (linear["out_features"], linear["in_features"])
    rows, cols = table["num_embeddings"], table["embedding_dim"]
    if weight == (rows, cols):
        return []
    fix = None
    if cols == weight[1]:
        fix = Fix("set_param", linear_id, f"Set {linear_id} out_features to {rows}",
                  field="out_features", value=rows)
    return [Problem(linear_id, "tie_weight", (
        f"{label}: tie_weight expects Embedding '{target}' to have a ({weight[0]}, "
        f"{weight[1]}) table (its out_features, in_features), received ({rows}, {cols}) (num_embeddings, "
        "embedding_dim)" + (f": set out_features to {rows}?" if fix else
                            ": the features it receives must equal embedding_dim")), fix)]


def block_tie_problems(graph: Graph) -> list[Problem]:
    """Ties are written between top-level nodes: one inside a block is refused on its uses."""
    tied_blocks = {name for name, block in graph.blocks.items() if tied_pairs(block.nodes)}
    return [Problem(n.id, "tie_weight", (
        f"{n.type} '{n.id}': block {n.type} ties a Linear's weight inside it, which LayerLoom "
        "cannot build yet: tie a Linear and an Embedding outside blocks"))
        for n in graph.nodes if n.type in tied_blocks]


def tied_keys(pairs: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    """state_dict key of each tied weight -> the key of the tensor it shares ("head.weight" ->
    "embed.weight"), with `names` the nodes' attribute names."""
    return {f"{names[linear]}.weight": f"{names[table]}.weight"
            for linear, table in pairs.items()}
