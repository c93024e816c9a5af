"""validate(): every problem at once, and per node the shape, parameter count, FLOPs and memory.

Pure shape arithmetic from the catalog's rules: nothing is allocated, so Linear(10**6, 10**6)
validates as fast as Linear(2, 2). Never raises on user input.
"""
import copy
import difflib
from math import prod

from builder.catalog import CATALOG, LayerSpec, NodeCall, ShapeError
from builder.params import coerce
from builder.report import Fix, NodeInfo, Problem, Report
from builder.spec import Graph, GraphError, Node, load_graph
from builder.structure import Wiring, wire

BYTES_PER_VALUE = {"float": 4, "long": 8}
MAX_NODE_VALUES = 2**40  # per node: output values per sample, and parameters (4 TB of floats)
MAX_NODE_FLOPS = 2**50


def validate(graph: "Graph | dict | str") -> Report:
    try:
        graph = load_graph(graph)
    except GraphError as err:
        return Report(problems=err.problems)
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
    return report


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
    sources = wiring.sources[node.id]
    if not spec.variadic and sources:
        # An empty optional port takes the previous port's input (self-attention).
        sources = sources + sources[-1:] * (len(spec.ports) - len(sources))
    inputs = [report.nodes[source] for source in sources]
    dtype_problem = _check_dtypes(node, spec, sources, inputs, wiring)
    if dtype_problem:
        return dtype_problem
    call = NodeCall(node.id, node.type, params, [i.output_shape for i in inputs],
                    [i.dtype for i in inputs])
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
    return NodeInfo(node.type, tuple(call.shapes), shape, n_params, flops,
                    prod(shape) * BYTES_PER_VALUE[dtype], call.params, dtype, tuple(sources))


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


def _check_dtypes(node, spec, sources, inputs, wiring) -> Problem | None:
    label = f"{node.type} '{node.id}'"
    for port, (source, info) in enumerate(zip(sources, inputs)):
        if spec.accepts == "float" and info.dtype == "long":
            fix = Fix("insert_before", node.id, f"Insert Embedding before {node.id}",
                      layer_type="Embedding", port=wiring.ports[node.id][port])
            return Problem(node.id, "inputs", f"{label} expects float values, received long "
                                              "token ids: insert Embedding before it?", fix)
        if spec.accepts == "long" and info.dtype != "long":
            fix = None
            if wiring.nodes[source].type == "Input":
                fix = Fix("set_param", source, f"Set {source} dtype to long", field="dtype",
                          value="long")
            return Problem(node.id, "inputs", f"{label} expects long token ids, received "
                                              f"{info.dtype} values from '{source}'", fix)
    return None
