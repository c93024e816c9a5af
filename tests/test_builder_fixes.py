"""apply_fix, new_node_id and the node-id -> Python name mapping."""
import pytest

from builder import Fix, GraphError, apply_fix, load_graph, new_node_id, validate
from builder.naming import attr_name, attr_names, class_name

GRAPH = {"name": "g",
         "nodes": [{"id": "x", "type": "Input", "params": {"shape": [3, 8, 8]}},
                   {"id": "flatten_1", "type": "ReLU", "params": {}},
                   {"id": "fc", "type": "linear", "params": {"out_feature": 4}}],
         "edges": [{"source": "x", "target": "flatten_1"}, {"source": "flatten_1", "target": "fc"}],
         "layout": {"flatten_1": {"x": 0, "y": 0}, "fc": {"x": 100, "y": 50}}}


def test_suggested_fixes_repair_the_graph_step_by_step():
    graph = load_graph(GRAPH)
    for _ in range(3):  # type, then param name, then the missing Flatten
        problems = validate(graph).problems
        if not problems:
            break
        assert len(problems) == 1 and problems[0].fix is not None, problems
        graph = apply_fix(graph, problems[0].fix)
    report = validate(graph)
    assert report.valid and report.nodes["fc"].output_shape == (4,)
    flatten = [n for n in graph.nodes if n.type == "Flatten"][0]
    assert flatten.id == "flatten_2"  # flatten_1 is taken by the ReLU
    assert [n.id for n in graph.nodes] == ["x", "flatten_1", "flatten_2", "fc"]
    assert graph.layout["flatten_2"].x == 50 and graph.layout["flatten_2"].y == 25


def test_apply_fix_leaves_the_original_untouched_and_refuses_unknown_nodes():
    graph = load_graph(GRAPH)
    before = graph.to_dict()
    apply_fix(graph, Fix("set_param", "fc", "Set", field="out_feature", value=None))
    assert graph.to_dict() == before
    with pytest.raises(GraphError, match="there is no node 'gone'"):
        apply_fix(graph, Fix("set_type", "gone", "Change", value="ReLU"))
    stale = Fix("rename_param", "fc", "Rename bias to biases", field="bias", value="biases")
    with pytest.raises(GraphError, match="cannot apply 'Rename bias to biases'"):
        apply_fix(graph, stale)


def test_new_node_id_is_readable_and_unused():
    graph = load_graph(GRAPH)
    assert new_node_id(graph, "Conv2d") == "conv2d_1"
    assert new_node_id(graph, "Flatten") == "flatten_2"


@pytest.mark.parametrize("node_id,name", [
    ("conv 1", "conv_1"), ("a/b.c", "a_b_c"), ("1x", "n_1x"), ("forward", "forward_"),
    ("training", "training_"), ("class", "class_"), ("Café", "Cafe"), ("Ω", "u3a9"), ("卷积 1", "u5377u79ef_1"), ("→", "node"),
    ("__init__", "init"), ("self", "self_")])
def test_attr_name_makes_safe_identifiers(node_id, name):
    assert attr_name(node_id) == name and name.isidentifier()


def test_attr_names_deduplicate_without_stealing_natural_names():
    names = attr_names(["a b", "a-b", "a_b_2", "a_b"])
    assert names == {"a b": "a_b", "a-b": "a_b_3", "a_b_2": "a_b_2", "a_b": "a_b_4"}
    assert attr_names(["a b", "a-b", "a_b_2", "a_b"]) == names  # deterministic


def test_class_name_is_camel_case():
    assert class_name("my lenet-5") == "MyLenet5" and class_name("3d cnn") == "Model3dCnn"
    assert class_name("") == "Model"
