"""Issue #12: every malformed graph gets the library's own GraphError (or a Report problem from
validate(), which never raises), with a message naming what is wrong: nesting depth, huge
numbers, NaN/Infinity anywhere, sizes that overflow."""
import json
import re

import pytest

from builder import Graph, GraphError, Node, load_graph, validate


def nested(depth: int):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def linear_graph(params: dict, **extra) -> dict:
    return {"name": "g", "nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}},
                                   {"id": "fc", "type": "Linear", "params": params}],
            "edges": [{"source": "x", "target": "fc"}], **extra}


def only_problem(source, *, loads: bool = True) -> str:
    """validate()'s problems (it never raises); load_graph raises GraphError unless the graph
    is well-formed and only its sizes are wrong (`loads=False`)."""
    report = validate(source)
    assert not report.valid
    if loads:
        with pytest.raises(GraphError) as error:
            load_graph(source)
        assert str(error.value)
    else:
        load_graph(source)
    return " | ".join(p.message for p in report.problems)


@pytest.mark.parametrize("depth", [255, 600, 990])
def test_deep_nesting_is_a_graph_error_not_a_recursion_error(depth):
    graph = linear_graph({"out_features": nested(depth)})
    assert "parameter 'out_features' is nested more than 16 levels deep" in only_problem(graph)
    as_json = json.dumps(linear_graph({"out_features": 0})).replace(
        '"out_features": 0', '"out_features": ' + "[" * depth + "1" + "]" * depth)
    assert re.search("nested (more than 16 levels deep|too deeply)", only_problem(as_json))


def test_json_nested_beyond_the_parser_is_named_too():
    text = '{"name": "g", "nodes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert "nested too deeply" in only_problem(text)


def test_a_5000_digit_integer_is_a_graph_error_with_its_place():
    text = json.dumps(linear_graph({"out_features": 2})).replace(
        '"out_features": 2', '"out_features": ' + "9" * 5000)
    message = only_problem(text)
    assert "line 1, column" in message and "5,000 digits is too large" in message
    huge = linear_graph({"out_features": 10**5000})  # the same from Python
    assert "numbers in a graph must be smaller than 2^63" in only_problem(huge)


@pytest.mark.parametrize("text, where", [
    ('{"name": "g", "layout": {"x": {"x": NaN, "y": 0}}}', "NaN is not a number JSON allows"),
    ('{"name": "g", "layout": {"x": {"x": -Infinity, "y": 0}}}', "-Infinity is not a number"),
    ('{"name": "g", "layout": {"x": {"x": 1e999, "y": 0}}}', "1e999 is too large"),
])
def test_nan_and_infinity_in_json_are_refused_with_their_place(text, where):
    message = only_problem(text)
    assert "line 1, column" in message and where in message


def test_nan_in_a_layout_dict_is_refused_not_shown_as_an_empty_canvas():
    graph = linear_graph({"out_features": 2}, layout={"x": {"x": float("nan"), "y": 0.0}})
    assert "layout.x.x: Input should be a finite number" in only_problem(graph)


def test_a_nan_parameter_is_named_not_turned_into_null():
    graph = linear_graph({"out_features": 2, "bias": float("nan")})
    assert "parameter 'bias' is NaN; give a finite number" in only_problem(graph)
    with pytest.raises(ValueError, match="infinite"):
        Graph(nodes=[Node(id="a", type="Input", params={"shape": [float("inf")]})])


def test_parameter_counts_beyond_2_to_63_are_refused_per_node():
    graph = {"name": "g", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [1024, 1024]}},
        {"id": "flat", "type": "Flatten", "params": {}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 16_777_216}},
        {"id": "fc2", "type": "Linear", "params": {"out_features": 16_777_216}}],
        "edges": [{"source": "x", "target": "flat"}, {"source": "flat", "target": "fc"},
                  {"source": "fc", "target": "fc2"}]}
    report = validate(graph)
    messages = [p.message for p in report.problems]
    assert any("Linear 'fc' would have 17,592,202,821,632 parameters" in m for m in messages)
    assert report.total_params < 2**63 and report.total_activation_bytes < 2**63


def test_an_upsample_chain_that_overflows_is_named_not_an_internal_error():
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [1, 1024, 1024]}}]
    edges = []
    for i in range(8):
        nodes.append({"id": f"up{i}", "type": "Upsample", "params": {"scale_factor": 64}})
        edges.append({"source": nodes[-2]["id"], "target": f"up{i}"})
    message = only_problem({"name": "g", "nodes": nodes, "edges": edges}, loads=False)
    assert "Upsample 'up1' would output 17,592,186,044,416 values per sample" in message
    assert "internal error" not in message
