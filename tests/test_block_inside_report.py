"""What the canvas gets for an opened block use (Report.inside_json): shapes and costs of every
node inside it, nested block uses included, and each problem placed on the node it arose in."""
from builder import validate
from builder.templates import load_template
from tests.test_blocks import _node, small_resnet


def test_a_nested_block_use_has_its_shapes_and_parameters_when_its_parent_is_open():
    report = validate(small_resnet())
    inside = report.inside_json("layer2.")  # Stage 'layer2': DownBlock 'first', BasicBlock 'rest'
    first, rest = inside["nodes"]["first"], inside["nodes"]["rest"]
    assert (first["type"], first["output_shape"]) == ("DownBlock", [128, 4, 4])
    assert (rest["type"], rest["output_shape"]) == ("BasicBlock", [128, 4, 4])
    assert inside["nodes"]["x"]["output_shape"] == [64, 8, 8]  # what flows into 'first'
    assert first["params"] == sum(i.params for k, i in report.inner.items()
                                  if k.startswith("layer2.first."))
    assert first["params"] + rest["params"] == inside["params"] == report.nodes["layer2"].params
    assert report.inner_uses["layer3.rest"].input_shapes == ((256, 2, 2),)
    assert report.copies["layer1"] == ("layer1.0.", "layer1.1.")


def test_a_problem_inside_nested_blocks_lands_on_the_node_holding_it_at_every_level():
    graph = small_resnet()
    _node(graph, "conv2", "DownBlock")["params"]["in_channels"] = 7
    report = validate(graph)
    problem = report.problems[0]
    assert (problem.node, problem.field, problem.inner) == ("layer2", "in_channels",
                                                            "layer2.first.conv2")
    assert problem.message == "Conv2d 'layer2.first.conv2': in_channels is 7 but the input " \
                              "gives 128"
    assert report.to_json()["problems"][0]["inner"] == "layer2.first.conv2"
    placed = [(p["inside"], p["message"]) for p in report.inside_json("layer2.")["problems"]]
    assert placed == [("first.conv2", problem.message)]  # the canvas puts it on 'first'
    assert [p["inside"] for p in report.inside_json("layer2.first.")["problems"]] == ["conv2"]
    assert report.inside_json("layer3.")["problems"] == []  # layer3 is not inferred: no cascade


def test_a_problem_in_a_later_copy_lands_on_its_layer_in_the_copy_shown():
    graph = {"version": 2, "name": "chain",
             "blocks": {"Dense": {"params": {}, "nodes": [
                 {"id": "x", "type": "Input", "params": {}},
                 {"id": "fc", "type": "Linear", "params": {"in_features": 4, "out_features": 8}}],
                 "edges": [{"source": "x", "target": "fc"}]}},
             "nodes": [{"id": "data", "type": "Input", "params": {"shape": [4]}},
                       {"id": "dense", "type": "Dense", "params": {"repeat": 2}}],
             "edges": [{"source": "data", "target": "dense"}]}
    report = validate(graph)  # copy 0 reads 4 features, copy 1 reads copy 0's 8
    assert [(p.node, p.inner) for p in report.problems] == [("dense", "dense.1.fc")]
    [shown] = report.inside_json("dense.0.")["problems"]
    assert shown["inside"] == "fc" and "'dense.1.fc'" in shown["message"]


def test_a_definition_mistake_is_placed_once_on_the_inner_node_not_once_per_copy():
    graph = load_template("transformer_text").to_dict()  # EncoderBlock used with repeat 2
    _node(graph, "ff1", "EncoderBlock")["params"]["out_features"] = "$hidden"
    report = validate(graph)
    assert [(p.node, p.field, p.inner) for p in report.problems] == [
        ("encoder", "out_features", "encoder.0.ff1")]
    assert [p["inside"] for p in report.inside_json("encoder.0.")["problems"]] == ["ff1"]


def test_a_problem_about_a_whole_block_stays_with_the_block():
    graph = small_resnet()
    _node(graph, "layer1")["params"]["repeat"] = 0
    report = validate(graph)
    assert [(p.node, p.inner) for p in report.problems] == [("layer1", None)]
