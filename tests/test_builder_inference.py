"""Shape inference against real torch: every catalog type, its inferred shape and parameter
count equal a real forward pass and a real parameter count."""
import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from builder import CATALOG, CATEGORIES, apply_fix, catalog_json, compile_graph, validate
from builder.params import coerce

torch.set_num_threads(1)

# type -> list of (params, per-sample input shapes, input dtype). Every catalog type appears.
SAMPLES = {
    "Input": [({}, [], "float")],
    "Output": [({}, [(5,)], "float")],
    "Identity": [({}, [(3, 4)], "float")],
    "Linear": [({"out_features": 7}, [(5,)], "float"),
               ({"out_features": 3, "bias": False}, [(4, 6)], "float")],
    "Embedding": [({"num_embeddings": 11, "embedding_dim": 6, "padding_idx": 0}, [(9,)], "long")],
    "Conv1d": [({"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}, [(2, 17)],
                "float")],
    "Conv2d": [({"out_channels": 6, "kernel_size": [3, 5], "dilation": 2}, [(2, 15, 16)], "float"),
               ({"out_channels": 4, "kernel_size": 4, "padding": "same", "groups": 2},
                [(2, 9, 9)], "float")],
    "ConvTranspose2d": [({"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1,
                          "output_padding": 1}, [(4, 7, 7)], "float")],
    "MaxPool1d": [({"kernel_size": 3, "stride": 2, "padding": 1}, [(2, 10)], "float"),
                  ({"kernel_size": 3, "stride": 2, "ceil_mode": True}, [(2, 10)], "float")],
    "MaxPool2d": [({"kernel_size": 2}, [(3, 9, 8)], "float"),
                  ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, [(3, 9, 8)],
                   "float")],
    "AvgPool2d": [({"kernel_size": [3, 2], "stride": 1}, [(3, 7, 6)], "float"),
                  ({"kernel_size": 2, "ceil_mode": True}, [(3, 7, 6)], "float")],
    "AdaptiveAvgPool2d": [({"output_size": [2, 3]}, [(3, 7, 8)], "float")],
    "MeanPool": [({"dim": 1}, [(5, 4)], "float"), ({"dim": -1}, [(2, 5, 4)], "float")],
    "BatchNorm1d": [({}, [(6,)], "float"), ({"affine": False}, [(3, 8)], "float")],
    "BatchNorm2d": [({}, [(3, 5, 5)], "float")],
    "LayerNorm": [({}, [(4, 6)], "float"), ({"normalized_shape": [4, 6]}, [(4, 6)], "float")],
    "Dropout": [({"p": 0.2}, [(4, 6)], "float")],
    "Dropout2d": [({"p": 0.2}, [(3, 4, 4)], "float")],
    "ReLU": [({}, [(5,)], "float")],
    "ReLU6": [({}, [(5,)], "float")],
    "Hardtanh": [({"min_val": -2.0, "max_val": 0.5}, [(5,)], "float")],
    "Hardswish": [({}, [(2, 3)], "float")],
    "Hardsigmoid": [({}, [(2, 3)], "float")],
    "Mish": [({}, [(2, 3)], "float")],
    "LeakyReLU": [({"negative_slope": 0.2}, [(5,)], "float")],
    "ELU": [({"alpha": 0.5}, [(5,)], "float")],
    "GELU": [({"approximate": "tanh"}, [(5,)], "float")],
    "SiLU": [({}, [(5,)], "float")],
    "Sigmoid": [({}, [(2, 3)], "float")],
    "Tanh": [({}, [(2, 3)], "float")],
    "Softmax": [({"dim": 1}, [(4, 3)], "float")],
    "LogSoftmax": [({}, [(4,)], "float")],
    "RNN": [({"hidden_size": 8, "nonlinearity": "relu"}, [(5, 3)], "float")],
    "LSTM": [({"hidden_size": 8, "num_layers": 2, "dropout": 0.1}, [(5, 3)], "float"),
             ({"hidden_size": 4, "bidirectional": True, "bias": False}, [(5, 3)], "float")],
    "GRU": [({"hidden_size": 6, "num_layers": 2, "bidirectional": True}, [(4, 3)], "float")],
    "SelectTimestep": [({}, [(5, 3)], "float"), ({"index": 1}, [(5, 3)], "float")],
    "MultiheadAttention": [({"num_heads": 2}, [(5, 8)], "float"),
                           ({"num_heads": 2}, [(5, 8), (7, 6), (7, 4)], "float"),
                           ({"num_heads": 2, "causal": True}, [(5, 8)], "float")],
    "TransformerEncoderLayer": [({"nhead": 2, "dim_feedforward": 16}, [(5, 8)], "float"),
                                ({"nhead": 2, "bias": False, "norm_first": True}, [(3, 4)],
                                 "float"),
                                ({"nhead": 2, "causal": True}, [(5, 8)], "float")],
    "Flatten": [({}, [(3, 4, 5)], "float"), ({"start_dim": 2}, [(3, 4, 5)], "float")],
    "Unflatten": [({"dim": 1, "unflattened_size": [2, -1]}, [(12,)], "float")],
    "Reshape": [({"shape": [3, -1]}, [(2, 6)], "float")],
    "Permute": [({"dims": [2, 3, 1]}, [(3, 4, 5)], "float"), ({"dims": [1]}, [(4,)], "long")],
    "Transpose": [({}, [(3, 4)], "float"), ({"dim0": -1, "dim1": 1}, [(2, 3, 4)], "float")],
    "PositionalEmbedding": [({}, [(5, 4)], "float"), ({"num_positions": 9}, [(5, 4)], "float")],
    "Parameter": [({"shape": [1, 4], "init": "normal"}, [(5, 4)], "float"),
                  ({"shape": [3, 1], "combine": "multiply", "init": "ones"}, [(3, 4)], "float"),
                  ({"shape": [1, 4], "combine": "prepend"}, [(5, 4)], "float")],
    "Upsample": [({"scale_factor": 2.0}, [(3, 4, 5)], "float"),
                 ({"scale_factor": 1.5, "mode": "linear"}, [(3, 5)], "float"),
                 ({"mode": "bilinear"}, [(1, 3, 3)], "float")],
    "Add": [({}, [(3, 4), (3, 4), (3, 4)], "float"), ({}, [(3, 1), (3, 4)], "float")],
    "Multiply": [({}, [(3, 4), (1, 4)], "float")],
    "Concat": [({"dim": 1}, [(2, 4), (3, 4)], "float"), ({"dim": -1}, [(2, 4), (2, 1)], "float")],
    "Reparameterize": [({}, [(6,), (6,)], "float")],
    "Opaque": [({"op": "cumsum", "dims": [1]}, [(3, 4)], "float"),
               ({"op": "amax", "dims": [2], "keepdim": True}, [(3, 4)], "float"),
               ({"op": "sub"}, [(3, 4), (3, 1)], "float"),
               ({"op": "clamp", "scalar": -0.5, "scalar2": 0.5}, [(3, 4)], "float")],
}


def test_every_catalog_type_has_samples():
    assert set(SAMPLES) == set(CATALOG)


def _graph(layer_type, params, shapes, dtype):
    if layer_type == "Input":
        return {"nodes": [{"id": "node", "type": "Input", "params": {"shape": [4, 2]}}]}
    nodes = [{"id": f"in{i}", "type": "Input", "params": {"shape": list(s), "dtype": dtype}}
             for i, s in enumerate(shapes)]
    nodes.append({"id": "node", "type": layer_type, "params": params})
    edges = [{"source": f"in{i}", "target": "node", "port": i} for i in range(len(shapes))]
    return {"name": "sample", "nodes": nodes, "edges": edges}


def _sample_input(shape, dtype):
    if dtype == "long":
        return torch.randint(0, 10, (2, *shape))
    return torch.randn(2, *shape)


CASES = [(t, *case) for t, cases in SAMPLES.items() for case in cases]


@pytest.mark.parametrize("layer_type,params,shapes,dtype", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_inferred_shape_and_params_match_torch(layer_type, params, shapes, dtype):
    graph = _graph(layer_type, params, shapes, dtype)
    report = validate(graph)
    assert report.valid, report.problems
    info = report.nodes["node"]
    model = compile_graph(graph).eval()
    inputs = [_sample_input(s, dtype) for s in shapes] or [torch.randn(2, 4, 2)]
    with torch.no_grad():
        out = model(*inputs)
    out = out[-1] if isinstance(out, tuple) else out  # Input/sinks: the node under test is last
    assert tuple(out.shape) == (2, *info.output_shape)
    module = model.node_module("node")
    assert info.params == sum(p.numel() for p in module.parameters())
    output_bytes = out[0].numel() * out.element_size()
    if CATALOG[layer_type].scratch is None:
        assert info.activation_bytes == output_bytes
    else:  # attention also holds its weight matrices (tests/test_attention_memory.py)
        assert info.activation_bytes > output_bytes


@pytest.mark.parametrize("layer_type,params,shape", [
    ("Linear", {"out_features": 7}, (5,)),
    ("Conv1d", {"out_channels": 4, "kernel_size": 3, "stride": 2}, (2, 17)),
    ("Conv2d", {"out_channels": 6, "kernel_size": 3, "groups": 2}, (4, 9, 9)),
    ("ConvTranspose2d", {"out_channels": 3, "kernel_size": 3, "stride": 2}, (4, 5, 5)),
])
def test_flops_match_torch_flop_counter(layer_type, params, shape):
    graph = _graph(layer_type, params, [shape], "float")
    info = validate(graph).nodes["node"]
    model = compile_graph(graph)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, *shape))
    assert info.flops == counter.get_total_flops()


# --- problems: all reported at once, per node, with a fix where one is obvious ---------------

def chain(*layers, shape=(1, 28, 28), dtype="float"):
    """Input -> layers... as a graph dict; each layer is (id, type, params)."""
    nodes = [{"id": "x", "type": "Input", "params": {"shape": list(shape), "dtype": dtype}}]
    nodes += [{"id": i, "type": t, "params": p} for i, t, p in layers]
    ids = [n["id"] for n in nodes]
    return {"name": "t", "nodes": nodes,
            "edges": [{"source": a, "target": b} for a, b in zip(ids, ids[1:])]}


def only_problem(graph):
    report = validate(graph)
    assert len(report.problems) == 1, report.problems
    return report.problems[0]


def test_linear_fed_an_image_suggests_flatten_and_the_fix_works():
    graph = chain(("c1", "Conv2d", {"out_channels": 64, "kernel_size": 5, "stride": 5}),
                  ("fc1", "Linear", {"out_features": 10}))
    problem = only_problem(graph)
    assert (problem.node, problem.fix.kind, problem.fix.layer_type) == ("fc1", "insert_before",
                                                                         "Flatten")
    assert "expects (features,) or (steps, features), received (64, 5, 5)" in problem.message
    fixed = apply_fix(graph, problem.fix)
    report = validate(fixed)
    assert report.valid and report.nodes["fc1"].resolved_params["in_features"] == 1600
    assert len(validate(graph).problems) == 1  # the original graph is untouched


def test_conv2d_fed_a_flat_vector_suggests_unflatten_when_it_reads_as_an_image():
    problem = only_problem(chain(("c", "Conv2d", {}), shape=(784,)))
    assert problem.node == "c" and problem.field == "inputs"
    assert problem.message == ("Conv2d 'c' expects (channels, height, width), received (784,): "
                               "insert Unflatten to (1, 28, 28) before it?")
    assert validate(apply_fix(chain(("c", "Conv2d", {}), shape=(784,)), problem.fix)).valid
    problem = only_problem(chain(("c", "Conv2d", {}), shape=(10,)))
    assert problem.fix is None and problem.message.endswith("received (10,)")


def test_mismatched_add_shapes_are_reported_on_the_add():
    graph = chain(("a", "Linear", {"out_features": 4}), ("b", "Linear", {"out_features": 3}),
                  shape=(6,))
    graph["nodes"].append({"id": "sum", "type": "Add", "params": {}})
    graph["edges"] += [{"source": "a", "target": "sum", "port": 0},
                       {"source": "b", "target": "sum", "port": 1}]
    problem = only_problem(graph)
    assert problem.node == "sum" and "received (4,) and (3,)" in problem.message


def test_every_structural_problem_is_reported_at_once():
    graph = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                       {"id": "a", "type": "Linear", "params": {}},
                       {"id": "a", "type": "ReLU", "params": {}},
                       {"id": "b", "type": "Conv2D", "params": {}},
                       {"id": "c", "type": "ReLU", "params": {}},
                       {"id": "d", "type": "ReLU", "params": {}},
                       {"id": "e", "type": "Tanh", "params": {}},
                       {"id": "f", "type": "Sigmoid", "params": {}}],
             "edges": [{"source": "x", "target": "a"}, {"source": "ghost", "target": "a"},
                       {"source": "c", "target": "c"}, {"source": "d", "target": "e"},
                       {"source": "e", "target": "d"}, {"source": "x", "target": "a", "port": 3}]}
    messages = {(p.node, p.field): p.message for p in validate(graph).problems}
    assert "two nodes share the id 'a'" in messages[("a", "id")]
    assert "did you mean 'Conv2d'" in messages[("b", "type")]
    assert "'ghost', which is not a node" in messages[("a", "edges[1]")]
    assert "connected to itself" in messages[("c", "edges[2]")]
    assert messages[("d", "inputs")].startswith("cycle: d -> e -> d")
    assert "targets port 3" in messages[("a", "inputs")]
    assert "nothing connected to its input" in messages[("f", "inputs")]


def test_bad_params_name_the_field_and_never_raise():
    graph = chain(("fc", "Linear", {"out_features": -3, "bias": "yes", "out_feature": 2}),
                  shape=(4,))
    problems = {p.field: p for p in validate(graph).problems}
    assert "out_features must be at least 1, got -3" in problems["out_features"].message
    assert "bias must be true or false" in problems["bias"].message
    assert problems["out_feature"].fix.kind == "rename_param"
    pool = chain(("p", "MaxPool2d", {"kernel_size": "same", "padding": "same"}))
    problems = {p.field: p.message for p in validate(pool).problems}
    assert problems == {
        "kernel_size": "MaxPool2d 'p': kernel_size must be an integer or a list of integers, "
                       "got 'same'",
        "padding": "MaxPool2d 'p': padding must be an integer or a list of integers, got 'same'"}


def test_given_inferred_size_must_agree_with_the_input():
    problem = only_problem(chain(("fc", "Linear", {"in_features": 5}), shape=(4,)))
    assert problem.field == "in_features" and "in_features is 5 but the input gives 4" in \
        problem.message
    assert validate(apply_fix(chain(("fc", "Linear", {"in_features": 5}), shape=(4,)),
                              problem.fix)).valid


def test_token_ids_into_linear_suggest_embedding_and_float_into_embedding_suggests_long():
    problem = only_problem(chain(("fc", "Linear", {}), shape=(16,), dtype="long"))
    assert problem.fix.layer_type == "Embedding"
    problem = only_problem(chain(("emb", "Embedding", {}), shape=(16,)))
    assert (problem.fix.node, problem.fix.field, problem.fix.value) == ("x", "dtype", "long")


def test_attention_with_an_empty_key_port_but_a_value_is_reported():
    graph = chain(("q", "Linear", {"out_features": 8}), shape=(5, 4))
    graph["nodes"].append({"id": "att", "type": "MultiheadAttention", "params": {"num_heads": 2}})
    graph["edges"] += [{"source": "q", "target": "att", "port": 0},
                       {"source": "x", "target": "att", "port": 2}]
    assert "port 'key'" in only_problem(graph).message


def test_huge_layers_validate_without_allocating():
    report = validate(chain(("fc", "Linear", {"out_features": 10 ** 6}), shape=(10 ** 6,)))
    assert report.valid and report.total_params == 10 ** 12 + 10 ** 6


def test_garbage_never_raises():
    for garbage in (None, 3, "not json", "{", [], {"nodes": "x"}, {"nodes": [{"id": 1}]}):
        report = validate(garbage)
        assert not report.valid and all(p.message for p in report.problems)


def test_params_are_checked_even_on_nodes_stuck_in_a_cycle():
    graph = chain(("a", "Linear", {"out_features": 0}), ("b", "ReLU", {}), shape=(4,))
    graph["edges"].append({"source": "b", "target": "a", "port": 0})
    fields = {(p.node, p.field) for p in validate(graph).problems}
    assert ("a", "out_features") in fields and ("a", "inputs") in fields


def test_catalog_declarations_are_complete_and_self_consistent():
    entries = catalog_json()
    assert json.loads(json.dumps(entries)) == entries  # plain JSON for the palette
    assert {e["type"] for e in entries} == set(CATALOG)
    palette_order = [CATEGORIES.index(e["category"]) for e in entries]
    assert palette_order == sorted(palette_order)  # grouped by category, in palette order
    for spec in CATALOG.values():
        assert spec.doc and "\n" not in spec.doc and len(spec.doc) <= 100, spec.type
        for param in spec.params:
            assert param.doc, (spec.type, param.name)
            assert coerce(param, param.default) == param.default, (spec.type, param.name)
