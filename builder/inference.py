"""validate(): every problem at once, and per node the shape, parameter count, FLOPs and memory.

Pure shape arithmetic from the catalog's rules: nothing is allocated, so Linear(10**6, 10**6)
validates as fast as Linear(2, 2). Never raises on user input.
"""
import copy
import dataclasses
import difflib
from math import prod

from builder.blocks import Expansion, expand
from builder.catalog import CATALOG, LayerSpec, NodeCall, ShapeError
from builder.params import coerce
from builder.report import Fix, NodeInfo, Problem, Report
from builder.spec import Graph, GraphError, Node, load_graph
from builder.structure import Wiring, wire
from builder.ties import block_tie_problems, tie_problems

BYTES_PER_VALUE = {"float": 4, "long": 8}
MAX_NODE_VALUES = 2**40  # per node: output values per sample, and parameters (4 TB of floats)
MAX_NODE_FLOPS = 2**50


def validate(graph: "Graph | dict | str") -> Report:
    try:
        graph = load_graph(graph)
    except GraphError as err:
        return Report(problems=err.problems)
    if graph.blocks:
        return _validate_with_blocks(graph)
    wiring = wire(graph)
    report = Report(problems=list(wiring.problems), order=wiring.order,
                    input_ids=wiring.input_ids, output_ids=wiring.output_ids)
    checked = {}  # node id -> params, for nodes whose params are all fine
    for node in wiring.nodes.values():  # every node, even one stuck on a cycle
        spec = CATALOG.get(node.type)
        if spec is not None:
            params, problems = resolve_params(spec, node)
            report.problems += problems
            if not problems:
                checked[node.id] = params
    for node_id in wiring.order:
        sources_known = all(s in report.nodes for s in wiring.sources.get(node_id, ()))
        if node_id not in checked or node_id in wiring.broken or not sources_known:
            continue  # the cause is reported on this node or upstream; do not cascade
        outcome = _infer(wiring.nodes[node_id], checked[node_id], wiring, report)
        if isinstance(outcome, Problem):
            report.problems.append(outcome)
        else:
            report.nodes[node_id] = outcome
    report.problems += tie_problems(wiring.nodes, report)
    return report


def _validate_with_blocks(graph: Graph) -> Report:
    """Wiring is checked on the graph as drawn (block nodes included), shapes on the flat
    expansion; problems inside a block are reported on the block node, naming the inner node."""
    wiring = wire(graph)
    expansion = expand(graph)
    report = Report(problems=wiring.problems + expansion.problems + block_tie_problems(graph),
                    order=wiring.order,
                    input_ids=wiring.input_ids, output_ids=wiring.output_ids)
    if expansion.problems:
        return report
    flat = validate(expansion.graph)
    flagged = {p.node for p in report.problems}
    for problem in flat.problems:
        owner = expansion.owner.get(problem.node, problem.node)
        if owner in flagged:
            continue  # already reported on the graph as drawn
        # A fix names a node of the flat graph: only a top-level one applies to the file.
        report.problems.append(problem if owner == problem.node
                               else Problem(owner, problem.field, problem.message,
                                            inner=problem.node))
    members: dict[str, list[str]] = {}  # block node -> the flat ids inside it
    for flat_id, owner in expansion.owner.items():
        members.setdefault(owner, []).append(flat_id)
    for node_id in wiring.order:
        info = _block_info(node_id, members[node_id], expansion, flat) \
            if node_id in expansion.uses else flat.nodes.get(node_id)
        if info is not None:
            inputs = tuple(expansion.owner[s] for s in info.inputs)
            report.nodes[node_id] = dataclasses.replace(info, inputs=inputs)
    report.inner = {i: info for i, info in flat.nodes.items() if expansion.owner[i] != i}
    report.copies = {use_id: tuple(use.instances) for use_id, use in expansion.uses.items()}
    for use_id in [u for u in expansion.uses if u not in wiring.nodes]:  # uses inside blocks
        inside = [i for i in expansion.owner if i.startswith(use_id + ".")]
        info = _block_info(use_id, inside, expansion, flat)
        if info is not None:
            report.inner_uses[use_id] = info
    return report


def _block_info(node_id: str, members: list[str], expansion: Expansion,
                flat: Report) -> NodeInfo | None:
    """One block node's facts: ports and output from its ends, costs summed over its nodes."""
    entries = [flat.nodes.get(i) for i in expansion.entries[node_id]]
    out = flat.nodes.get(expansion.exits[node_id])
    if out is None or None in entries or any(i not in flat.nodes for i in members):
        return None
    use = expansion.uses[node_id]
    infos = [flat.nodes[i] for i in members]
    return NodeInfo(use.block, tuple(e.output_shape for e in entries), out.output_shape,
                    sum(i.params for i in infos), sum(i.flops for i in infos),
                    sum(i.activation_bytes for i in infos), {**use.args, "repeat": use.repeat},
                    out.dtype, tuple(s for e in entries for s in e.inputs),
                    tuple(e.removeprefix(use.instances[0]) for e in expansion.entries[node_id]))


def resolve_params(spec: LayerSpec, node: Node) -> tuple[dict, list[Problem]]:
    """Checked params with defaults filled in, and a Problem per unknown or bad value."""
    problems = []
    label = f"{spec.type} '{node.id}'"
    known = [p.name for p in spec.params]
    for name in node.params:
        if name not in known:
            problems.append(_unknown_param(label, node.id, name, known))
    params = {}
    for param in spec.params:
        try:
            params[param.name] = coerce(param, copy.deepcopy(node.params.get(param.name,
                                                                              param.default)))
        except ValueError as err:
            problems.append(Problem(node.id, param.name, f"{label}: {err}"))
    return params, problems


def _unknown_param(label: str, node_id: str, name: str, known: list[str]) -> Problem:
    guess = next(iter(difflib.get_close_matches(name, known, n=1)), None)
    if guess:
        fix = Fix("rename_param", node_id, f"Rename {name} to {guess}", field=name, value=guess)
        return Problem(node_id, name, f"{label} has no parameter '{name}' (did you mean "
                                      f"'{guess}'?)", fix)
    fix = Fix("set_param", node_id, f"Remove {name}", field=name, value=None)
    allowed = ", ".join(known) or "none"
    return Problem(node_id, name, f"{label} has no parameter '{name}' (it takes: {allowed})", fix)


def _infer(node: Node, params: dict, wiring: Wiring, report: Report) -> "NodeInfo | Problem":
    spec = CATALOG[node.type]
    sources, ports = _sources_by_port(spec, wiring.sources[node.id], wiring.ports[node.id])
    inputs = [report.nodes[source] for source in sources]
    dtype_problem = _check_dtypes(node, spec, sources, ports, inputs, wiring)
    if dtype_problem:
        return dtype_problem
    n_main = len(sources) - sum(port in spec.token_ports for port in ports)
    call = NodeCall(node.id, node.type, params, [i.output_shape for i in inputs[:n_main]],
                    [i.dtype for i in inputs[:n_main]],
                    tokens={port: i.output_shape for port, i in zip(ports[n_main:],
                                                                    inputs[n_main:])})
    try:
        shape = tuple(spec.shape(call))
    except ShapeError as err:
        return Problem(node.id, err.field, err.message, err.fix)
    except (ArithmeticError, IndexError, KeyError, TypeError, ValueError) as err:
        # A rule that missed a case must not take the editor down with it; the fuzz tests
        # assert this message never appears.
        return Problem(node.id, None, f"{node.type} '{node.id}': internal error while inferring "
                                      f"its shape ({type(err).__name__}: {err})")
    dtype = call.out_dtype or _passed_dtype(spec, call.dtypes)
    n_params, flops = spec.cost(call.params, call.shapes, shape)
    too_large = _too_large(f"{node.type} '{node.id}'", shape, n_params, flops)
    if too_large:
        return Problem(node.id, None, too_large)
    # Values held while the node runs, besides its output (attention's weight matrices); at most
    # its FLOPs, which are bounded above, so the report's totals still fit in 64 bits.
    scratch = spec.scratch(call.params, call.shapes, shape) if spec.scratch else 0
    activation_bytes = prod(shape) * BYTES_PER_VALUE[dtype] + scratch * BYTES_PER_VALUE["float"]
    return NodeInfo(node.type, tuple(i.output_shape for i in inputs), shape, n_params, flops,
                    activation_bytes, call.params, dtype, tuple(sources), tuple(ports))


def _sources_by_port(spec: LayerSpec, sources: list[str],
                     numbers: list[int]) -> tuple[list[str], list[str]]:
    """The sources and the name of the port each feeds. An empty optional port takes the
    previous port's input (self-attention); token ports only count when connected."""
    if spec.variadic or not sources:
        return sources, [spec.ports[0] if spec.ports else "input"] * len(sources)
    filled = [s for s, n in zip(sources, numbers) if n < len(spec.ports)]
    filled += filled[-1:] * (len(spec.ports) - len(filled))
    tokens = [(spec.all_ports[n], s) for s, n in zip(sources, numbers) if n >= len(spec.ports)]
    return (filled + [s for _, s in tokens],
            list(spec.ports[:len(filled)]) + [name for name, _ in tokens])


def _too_large(label: str, shape: tuple, n_params: int, flops: int) -> str | None:
    """Sizes no machine can build, refused here so every total in the Report fits in 64 bits
    (2,000 nodes x 2^40) and a chain of layers cannot grow a number without bound."""
    values = prod(shape)
    if values > MAX_NODE_VALUES:
        return (f"{label} would output {values:,} values per sample {list(shape)}; at most "
                f"{MAX_NODE_VALUES:,} can be built. Shrink the input or the layers before it.")
    if n_params > MAX_NODE_VALUES:
        return (f"{label} would have {n_params:,} parameters; at most {MAX_NODE_VALUES:,} can be "
                "built. Use a smaller layer.")
    if flops > MAX_NODE_FLOPS:
        return f"{label} would need {flops:,} operations per sample; at most {MAX_NODE_FLOPS:,}."
    return None


def _passed_dtype(spec: LayerSpec, dtypes: list[str]) -> str:
    if spec.accepts == "any" and dtypes and all(d == "long" for d in dtypes):
        return "long"
    return "float"


def _check_dtypes(node, spec, sources, ports, inputs, wiring) -> Problem | None:
    label = f"{node.type} '{node.id}'"
    for index, (source, port, info) in enumerate(zip(sources, ports, inputs)):
        accepts = "long" if port in spec.token_ports else spec.accepts
        if accepts == "float" and info.dtype == "long":
            fix = Fix("insert_before", node.id, f"Insert Embedding before {node.id}",
                      layer_type="Embedding", port=wiring.ports[node.id][index]
                      if spec.variadic else spec.all_ports.index(port))
            return Problem(node.id, "inputs", f"{label} expects float values, received long "
                                              "token ids: insert Embedding before it?", fix)
        if accepts == "long" and info.dtype != "long":
            fix = None
            if wiring.nodes[source].type == "Input":
                fix = Fix("set_param", source, f"Set {source} dtype to long", field="dtype",
                          value="long")
            return Problem(node.id, "inputs", f"{label} expects long token ids, received "
                                              f"{info.dtype} values from '{source}'", fix)
    return None
