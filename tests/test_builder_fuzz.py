"""Random graphs drawn from the catalog itself: validate() never raises, and whenever it says a
graph is valid, the compiled model runs and every node's real shape is the inferred one."""
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from builder import CATALOG, compile_graph, validate

torch.set_num_threads(1)

CHAINABLE = sorted(t for t, spec in CATALOG.items()
                   if spec.ports == ("input",) and t not in ("Output",))


def param_values(param):
    """Plausible and deliberately wrong values for one ParamSpec."""
    by_kind = {
        "int": [param.default, param.min, 1, 2, -1, 0],
        "float": [param.default, 0.0, 0.5, 3.0],
        "bool": [True, False],
        "choice": list(param.choices),
        "ints": [1, 2, 3, [2, 2], [1, 3], "same"],
        "shape": [[-1], [2, -1], [4], [0]],
        "dtype": ["float", "long"],
        "text": ["", "n0", "n1", "x", "nowhere"],  # tie_weight: graph nodes, maybe an Embedding
    }
    return st.sampled_from([v for v in by_kind[param.kind] if v is not None] or [1])


@st.composite
def layer(draw):
    layer_type = draw(st.sampled_from(CHAINABLE))
    params = {}
    for param in CATALOG[layer_type].params:
        if draw(st.integers(0, 9)) < (1 if param.inferred else 3):
            params[param.name] = draw(param_values(param))
    return layer_type, params


@st.composite
def random_graph(draw):
    shape = draw(st.lists(st.integers(1, 9), min_size=1, max_size=3))
    layers = draw(st.lists(layer(), min_size=1, max_size=4))
    if draw(st.booleans()):  # reduce to one value per sample first (rank 0): few rules like it
        layers.insert(0, ("MeanPool", {"dim": -1}))
        shape = shape[:1]
    dtype = draw(st.sampled_from(["float", "float", "float", "long"]))
    nodes = [{"id": "x", "type": "Input", "params": {"shape": shape, "dtype": dtype}}]
    edges = []
    for i, (layer_type, params) in enumerate(layers):
        nodes.append({"id": f"n{i}", "type": layer_type, "params": params})
        edges.append({"source": nodes[-2]["id"], "target": f"n{i}"})
    if draw(st.booleans()):  # a skip connection from the input to the end
        nodes.append({"id": "sum", "type": "Add", "params": {}})
        edges += [{"source": "x", "target": "sum", "port": 0},
                  {"source": nodes[-2]["id"], "target": "sum", "port": 1}]
    return {"name": "fuzz", "nodes": nodes, "edges": edges}


def assert_problems_are_reported_well(report, graph):
    ids = {node["id"] for node in graph["nodes"]}
    for problem in report.problems:
        assert problem.node is None or problem.node in ids
        assert problem.message and "internal error" not in problem.message, problem.message


def _sample(info):
    if info.dtype == "long":
        return torch.randint(0, 2, (2, *info.output_shape))
    return torch.rand(2, *info.output_shape)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graph())
def test_valid_means_it_runs_with_the_inferred_shapes(graph):
    report = validate(graph)
    assert_problems_are_reported_well(report, graph)
    if not report.valid:
        return
    model = compile_graph(graph).eval()
    seen = {}
    for node_id in report.nodes:
        model.node_module(node_id).register_forward_hook(
            lambda module, args, out, node_id=node_id: seen.__setitem__(node_id, out))
    with torch.no_grad():
        model(*[_sample(report.nodes[i]) for i in report.input_ids])
    for node_id, out in seen.items():
        out = out[0] if isinstance(out, tuple) else out  # recurrent layers: (sequence, state)
        assert tuple(out.shape[1:]) == report.nodes[node_id].output_shape, node_id


@st.composite
def random_wiring(draw):
    """Any types (multi-input ones too) joined by arbitrary edges: cycles, self-loops, missing
    nodes, clashing or out-of-range ports."""
    types = draw(st.lists(st.sampled_from(sorted(CATALOG) + ["Bogus"]), min_size=1, max_size=6))
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [4, 4]}}]
    nodes += [{"id": f"n{i}", "type": t, "params": {}} for i, t in enumerate(types)]
    ids = st.sampled_from([n["id"] for n in nodes] + ["ghost"])
    edges = draw(st.lists(st.fixed_dictionaries(
        {"source": ids, "target": ids, "port": st.integers(0, 3)}), max_size=10))
    return {"name": "wiring", "nodes": nodes, "edges": edges}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_wiring())
def test_arbitrary_wiring_is_reported_never_raised(graph):
    report = validate(graph)
    assert_problems_are_reported_well(report, graph)
    if report.valid:
        model = compile_graph(graph).eval()
        with torch.no_grad():
            model(*[_sample(report.nodes[i]) for i in report.input_ids])
