"""The graph file format: loading from every source, strictness, and readable errors."""
import json
import re
from pathlib import Path

import pytest

from builder import Graph, GraphError, load_graph, save_graph, validate

LENET = {"version": 1, "name": "lenet",
         "nodes": [{"id": "x", "type": "Input", "params": {"shape": [1, 28, 28]}},
                   {"id": "c1", "type": "Conv2d", "params": {"out_channels": 32}}],
         "edges": [{"source": "x", "target": "c1"}],
         "layout": {"c1": {"x": 120, "y": 40}}}


def test_loads_from_dict_json_text_and_path_alike(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(LENET))
    graphs = [load_graph(LENET), load_graph(json.dumps(LENET)), load_graph(path),
              load_graph(str(path))]
    assert all(g == graphs[0] for g in graphs)
    assert graphs[0].edges[0].port == 0 and graphs[0].layout["c1"].x == 120


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_text("\ufeff" + json.dumps(LENET), encoding="utf-8")
    assert load_graph(path) == load_graph("\ufeff" + json.dumps(LENET)) == load_graph(LENET)


def test_save_then_load_round_trips(tmp_path):
    graph = load_graph(LENET)
    save_graph(graph, tmp_path / "out.json")
    assert load_graph(tmp_path / "out.json") == graph
    assert load_graph(LENET).to_dict() == Graph.model_validate(graph.to_dict()).to_dict()


def problems(source):
    with pytest.raises(GraphError) as err:
        load_graph(source)
    return err.value.problems


def test_unknown_fields_are_named_with_the_node_and_allowed_fields():
    bad = json.loads(json.dumps(LENET))
    bad["nodes"][1]["colour"] = "red"
    bad["author"] = "me"
    messages = sorted(p.message for p in problems(bad))
    assert messages[0] == ("node 'c1': unknown field 'colour' in nodes[1] "
                           "(allowed: id, type, params)")
    assert messages[1].startswith("unknown field 'author' in the graph (allowed: version, name,")


def test_bad_json_reports_line_and_column():
    (problem,) = problems('{"version": 1,\n  "nodes": [,]}')
    assert problem.message.startswith("invalid JSON at line 2, column 13")


def test_wrong_types_and_versions_are_named():
    bad = json.loads(json.dumps(LENET))
    bad["edges"][0]["port"] = "first"
    bad["version"] = 7
    messages = " | ".join(p.message for p in problems(bad))
    assert "edges[0].port" in messages and "version 7 is not supported" in messages


def test_missing_file_and_non_object_are_clear(tmp_path):
    (problem,) = problems(tmp_path / "nope.json")
    assert "cannot read graph file" in problem.message and "nope.json" in problem.message
    (problem,) = problems([1, 2])
    assert "must be a JSON object" in problem.message


def test_graph_error_text_lists_every_problem():
    bad = {"nodes": [{"id": "a"}, {"id": "b", "type": "ReLU", "extra": 1}]}
    text = str(pytest.raises(GraphError, load_graph, bad).value)
    assert "nodes[0].type is missing" in text and "node 'b'" in text


def test_examples_in_the_format_doc_are_valid_graphs():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "graph-format.md").read_text()
    examples = re.findall(r"```json\n(.*?)```", doc, re.S)
    assert len(examples) >= 2
    for example in examples:
        assert validate(json.loads(example)).valid
