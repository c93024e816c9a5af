"""make_block: connected layers become a block used once where they were; the model computes
exactly what it did (same shapes, parameter count and, with the same weights, outputs)."""
import pytest
import torch

from builder import compile_graph, load_graph, validate
from builder.make_block import CannotMakeBlock, make_block
from builder.templates import load_template

torch.set_num_threads(1)


def same_model(before, after, renamed: dict[str, str]) -> None:
    """Same parameter count and, with before's weights moved to their new names, same outputs.
    `renamed`: old module path -> new ("conv1" -> "convblock.conv1")."""
    assert validate(after).valid, validate(after).problems
    assert validate(after).total_params == validate(before).total_params
    old, new = compile_graph(before).eval(), compile_graph(after).eval()
    state = {}
    for key, value in old.state_dict().items():
        path = next((p for p in renamed if key.startswith(p + ".")), None)
        state[renamed[path] + key[len(path):] if path else key] = value
    new.load_state_dict(state)  # strict: every weight found its place
    inputs = [torch.randn(2, *validate(before).nodes[i].output_shape) for i in old.input_ids]
    with torch.no_grad():
        assert torch.equal(new(*inputs), old(*inputs))


def test_a_chain_becomes_one_block_use_wired_the_same_way():
    before = load_template("cnn_seed")
    after = make_block(before, ["conv1", "relu1", "pool1"], "ConvBlock")
    assert after.version == 2
    assert [n.id for n in after.nodes] == ["x", "convblock", "conv2", "relu2", "pool2", "flat",
                                          "fc1", "relu3", "fc2"]
    assert after.node("convblock").type == "ConvBlock"
    block = after.blocks["ConvBlock"]
    assert [(n.id, n.type) for n in block.nodes] == [("x", "Input"), ("conv1", "Conv2d"),
                                                     ("relu1", "ReLU"), ("pool1", "MaxPool2d")]
    wires = {(e.source, e.target, e.port) for e in after.edges}
    assert {("x", "convblock", 0), ("convblock", "conv2", 0)} <= wires
    report = validate(after)
    assert report.nodes["convblock"].output_shape == validate(before).nodes["pool1"].output_shape
    same_model(before, after, {n: f"convblock.{n}" for n in ("conv1", "relu1", "pool1")})
    assert set(after.layout) == {n.id for n in after.nodes}
    assert before.node("conv1") is not None  # the old graph is untouched


def test_a_residual_block_with_a_skip_and_two_outside_sources():
    before = load_template("resnet_small")
    basic = before.blocks["BasicBlock"]  # the stem and the BasicBlock use go in together
    after = make_block(before, ["stem", "stem_bn", "stem_relu", "layer1"], "Trunk")
    assert [n.type for n in after.blocks["Trunk"].nodes][-1] == "BasicBlock"  # a nested use
    assert after.blocks["BasicBlock"] == basic
    same_model(before, after, {n: f"trunk.{n}" for n in ("stem", "stem_bn", "stem_relu",
                                                         "layer1")})

    two_in = make_block(load_template("inception_block"), ["inception"], "Wrapped")
    assert validate(two_in).valid


def test_several_outside_sources_become_the_ports_in_node_order():
    graph = {"name": "two", "nodes": [
        {"id": "a", "type": "Input", "params": {"shape": [4]}},
        {"id": "b", "type": "Input", "params": {"shape": [4]}},
        {"id": "fa", "type": "Linear", "params": {"out_features": 4}},
        {"id": "sum", "type": "Add", "params": {}},
        {"id": "out", "type": "Linear", "params": {"out_features": 2}}],
        "edges": [{"source": "a", "target": "fa"}, {"source": "fa", "target": "sum"},
                  {"source": "b", "target": "sum", "port": 1}, {"source": "sum", "target": "out"},
                  {"source": "a", "target": "out", "port": 0}]}
    graph["edges"].pop()  # (Linear has one input)
    after = make_block(graph, ["fa", "sum"], "Mix")
    assert [n.id for n in after.blocks["Mix"].nodes][:2] == ["x1", "x2"]
    assert {(e.source, e.port) for e in after.edges if e.target == "mix"} == {("a", 0), ("b", 1)}
    same_model(load_graph(graph), after, {"fa": "mix.fa", "sum": "mix.sum"})


def test_one_output_and_nothing_that_leaves_and_comes_back():
    graph = {"name": "fork", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [4]}},
        {"id": "h", "type": "Linear", "params": {"out_features": 4}},
        {"id": "g", "type": "ReLU", "params": {}},
        {"id": "sum", "type": "Add", "params": {}}],
        "edges": [{"source": "x", "target": "h"}, {"source": "h", "target": "g"},
                  {"source": "h", "target": "sum"}, {"source": "g", "target": "sum", "port": 1}]}
    with pytest.raises(CannotMakeBlock, match="h and g each send their output out"):
        make_block(graph, ["h", "g"], "Pair")  # two outputs leave the selection
    with pytest.raises(CannotMakeBlock, match="sum reads from the selection through g, which is "
                                              "not selected"):
        make_block(graph, ["h", "sum"], "Pair")  # h -> g -> sum leaves and comes back
    after = make_block(graph, ["h", "g", "sum"], "Pair")
    same_model(load_graph(graph), after, {n: f"pair.{n}" for n in ("h", "g", "sum")})


def test_layers_inside_a_block_become_a_block_used_there_taking_its_params_along():
    before = load_template("resnet_small")
    after = make_block(before, ["conv1", "bn1", "relu1"], "ConvBnRelu", within="BasicBlock")
    basic = after.blocks["BasicBlock"]
    assert [n.id for n in basic.nodes] == ["x", "convbnrelu", "conv2", "bn2", "skip", "relu2"]
    assert basic.nodes[1].params == {"channels": "$channels"}
    assert after.blocks["ConvBnRelu"].params == {"channels": 16}
    assert after.nodes == before.nodes  # the model's level is as it was
    same_model(before, after, {f"layer1.{n}": f"layer1.convbnrelu.{n}" for n in ("conv1", "bn1")})
    with pytest.raises(CannotMakeBlock, match="x is the block's input"):
        make_block(before, ["x", "conv1"], "Head", within="BasicBlock")


@pytest.mark.parametrize("ids,name,message", [
    (["conv1", "conv2"], "Split", "not connected: conv2 is not wired to conv1"),
    (["x", "conv1"], "Head", "x is the model's input"),
    (["conv1"], "Conv2d", "'Conv2d' cannot name a block"),
    (["conv1"], "my block", "'my block' cannot name a block"),
    (["nope"], "Blk", "the graph has no layer 'nope'"),
    ([], "Blk", "select the layers"),
])
def test_a_selection_that_cannot_be_a_block_says_why(ids, name, message):
    with pytest.raises(CannotMakeBlock, match=message):
        make_block(load_template("cnn_seed"), ids, name)


def test_a_block_name_already_taken_is_refused():
    with pytest.raises(CannotMakeBlock, match="already has a block named BasicBlock"):
        make_block(load_template("resnet_small"), ["fc"], "BasicBlock")
