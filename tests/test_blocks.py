"""Blocks (graph format version 2): a sub-graph defined once, used many times with its own
weights, optionally repeated; shapes, costs, compile, state_dict names and export go through it."""
import copy
import pickle

import pytest
import torch

from builder import compile_graph, to_python_code, validate
from builder.templates import load_template
from tests import reference_graphs, reference_models
from tests.test_architectures import paired
from tests.test_builder_codegen import load_module

torch.set_num_threads(1)


def small_resnet() -> dict:
    return reference_graphs.resnet18_blocks(num_classes=10, size=32)


def test_resnet18_with_blocks_is_exact_in_parameters_and_outputs_against_the_twin():
    report = validate(reference_graphs.resnet18_blocks())
    assert report.valid, report.problems
    assert report.total_params == 11_689_512
    layer2 = report.nodes["layer2"]
    assert (layer2.type, layer2.input_shapes, layer2.output_shape) == ("Stage", ((64, 56, 56),),
                                                                       (128, 28, 28))
    assert layer2.params == sum(report.inner[i].params for i in report.inner
                                if i.startswith("layer2."))
    torch.manual_seed(0)
    compiled, twin = compile_graph(small_resnet()).eval(), reference_models.ResNet18(10).eval()
    paired(compiled, twin)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(compiled(x), twin(x))


def test_state_dict_keys_follow_the_block_hierarchy():
    keys = list(compile_graph(small_resnet()).state_dict())
    assert "layer1.0.conv1.weight" in keys and "layer1.1.bn2.running_var" in keys
    assert "layer3.first.down_conv.weight" in keys and "layer4.rest.conv2.weight" in keys
    model = compile_graph(small_resnet())
    assert model.node_module("layer1.1.conv2") is model.layer1[1].conv2
    assert isinstance(model.node_module("layer2"), torch.nn.Module)


def test_blocks_compute_what_the_same_network_drawn_flat_computes():
    torch.manual_seed(0)
    with_blocks = compile_graph(small_resnet()).eval()
    flat = compile_graph(reference_graphs.resnet18(num_classes=10, size=32)).eval()
    paired(with_blocks, flat)
    assert validate(small_resnet()).total_flops == \
        validate(reference_graphs.resnet18(num_classes=10, size=32)).total_flops
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(with_blocks(x), flat(x))


def test_exported_file_has_one_class_per_block_and_the_same_weights(tmp_path):
    code = to_python_code(small_resnet(), class_name="Exported")
    for block in ("BasicBlock", "DownBlock", "Stage"):
        assert code.count(f"class {block}(nn.Module):") == 1
    assert "self.layer1 = nn.Sequential(BasicBlock(channels=64), BasicBlock(channels=64))" in code
    assert "def __init__(self, channels, first_conv1_in_channels):" in code  # Stage's sizes
    compiled = compile_graph(small_resnet()).eval()
    exported = load_module(code, tmp_path / "resnet.py").Exported().eval()
    exported.load_state_dict(compiled.state_dict())  # strict: the same hierarchy
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(exported(x), compiled(x))


def test_a_compiled_block_model_survives_pickle_and_deepcopy():
    model = compile_graph(small_resnet()).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
            assert torch.equal(clone(x), model(x))


def test_version_1_files_still_load_and_save_without_blocks():
    graph = load_template("cnn_seed")
    assert graph.version == 1 and "blocks" not in graph.to_dict()
    assert validate(graph).valid
    with_blocks = small_resnet()
    with_blocks["version"] = 1
    assert [p.message for p in validate(with_blocks).problems] == [
        'blocks need format version 2: set "version": 2']


def _broken(change) -> list[tuple]:
    graph = small_resnet()
    change(graph)
    return [(p.node, p.field, p.message) for p in validate(graph).problems]


def _node(graph, node_id, blocks=None):
    nodes = graph["blocks"][blocks]["nodes"] if blocks else graph["nodes"]
    return next(n for n in nodes if n["id"] == node_id)


@pytest.mark.parametrize("change,expected", [
    (lambda g: _node(g, "layer1")["params"].update(chanels=3),
     ("layer1", "chanels", "BasicBlock 'layer1': block BasicBlock has no parameter 'chanels' "
                           "(it takes: channels, stride)")),
    (lambda g: _node(g, "layer1")["params"].update(repeat=0),
     ("layer1", "repeat", "BasicBlock 'layer1': repeat must be a whole number from 1 to 256, "
                          "got 0")),
    (lambda g: _node(g, "conv2", "BasicBlock")["params"].update(out_channels="$width"),
     ("layer1", "out_channels", "block BasicBlock, node 'conv2': $width names no block parameter "
                                "(it has: channels, stride)")),
    (lambda g: _node(g, "rest", "Stage").update(type="Stage"),
     ("layer2", "type", "Stage 'rest': block Stage contains itself (Stage -> Stage)")),
    (lambda g: g["blocks"]["BasicBlock"].update(  # a second dead end
        nodes=g["blocks"]["BasicBlock"]["nodes"] + [{"id": "extra", "type": "ReLU"}],
        edges=g["blocks"]["BasicBlock"]["edges"] + [{"source": "x", "target": "extra"}]),
     ("layer1", "type", "BasicBlock 'layer1': block BasicBlock needs exactly one output "
                        "(one Output node, or one dead end)")),
])
def test_block_mistakes_are_named_on_the_block_node(change, expected):
    assert expected in _broken(change)


def test_a_shape_problem_inside_a_block_is_reported_on_the_block_node_naming_the_inner_node():
    problems = _broken(lambda g: _node(g, "conv2", "BasicBlock")["params"].update(
        in_channels=5))
    assert problems[0][:2] == ("layer1", "in_channels")
    assert "'layer1.0.conv2'" in problems[0][2] and "in_channels is 5" in problems[0][2]
    assert validate(small_resnet()).valid  # each case changed its own copy


def test_repeats_are_bounded_before_anything_is_expanded_too_far():
    too_large = [(None, "blocks", "the blocks expand to more than 2000 nodes or 8000 edges; use "
                                  "fewer repeats")]
    assert _broken(lambda g: _node(g, "layer1")["params"].update(repeat=250)) == too_large

    def many_edges(graph):  # few nodes, but thousands of (duplicate) edges in every copy
        block = graph["blocks"]["BasicBlock"]
        block["edges"] += [{"source": "x", "target": "conv1"}] * 4000
    assert _broken(many_edges) == too_large


def test_repeat_inside_a_block_must_be_a_number_so_one_class_fits_every_use():
    problems = _broken(lambda g: _node(g, "rest", "Stage")["params"].update(repeat="$channels"))
    message = "block Stage, node 'rest': repeat inside a block must be a number, not a block " \
              "parameter"
    assert problems == [(use, "repeat", message) for use in ("layer2", "layer3", "layer4")]


def test_mobilenet_v2_with_blocks_is_exact_against_its_twin_with_far_fewer_nodes():
    graph = reference_graphs.mobilenet_v2_blocks()
    report = validate(graph)
    assert report.valid, report.problems
    assert report.total_params == 3_504_872 and len(graph["nodes"]) < 40
    torch.manual_seed(0)
    small = reference_graphs.mobilenet_v2_blocks(num_classes=10, size=32)
    compiled, twin = compile_graph(small).eval(), reference_models.MobileNetV2(10).eval()
    paired(compiled, twin)
    assert "stage3_rest.0.dw_conv.weight" in compiled.state_dict()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(compiled(x), twin(x))


def test_a_block_cannot_take_a_layer_type_name():
    graph = small_resnet()
    graph["blocks"]["Linear"] = {"nodes": []}
    assert [(p.node, p.message) for p in validate(graph).problems] == [
        (None, "block name 'Linear' must be a Python-style name (letters, digits, _) that is "
               "not a layer type")]


def test_a_numbered_chain_block_is_an_nn_sequential_named_by_numbers(tmp_path):
    """Nodes 0, 1, ... in a chain after one Input: the block compiles and exports as torch's
    nn.Sequential, so its weights are `head.0.weight`, as a Sequential's are."""
    graph = {"version": 2, "name": "seq", "blocks": {"Head": {
        "params": {"width": 8},
        "nodes": [{"id": "x", "type": "Input", "params": {}},
                  {"id": "0", "type": "Linear", "params": {"out_features": "$width"}},
                  {"id": "1", "type": "ReLU", "params": {}},
                  {"id": "2", "type": "Linear", "params": {"out_features": 3}}],
        "edges": [{"source": "x", "target": "0"}, {"source": "0", "target": "1"},
                  {"source": "1", "target": "2"}]}},
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                  {"id": "head", "type": "Head", "params": {"width": 16}}],
        "edges": [{"source": "x", "target": "head"}]}
    model = compile_graph(graph).eval()
    assert isinstance(model.head, torch.nn.Sequential)
    assert list(model.state_dict()) == ["head.0.weight", "head.0.bias", "head.2.weight",
                                        "head.2.bias"]
    assert model.node_module("head.2") is model.head[2]
    source = to_python_code(graph)
    assert "class Head" not in source and "self.head = nn.Sequential(" in source
    exported = load_module(source, tmp_path / "seq.py").Seq().eval()
    exported.load_state_dict(model.state_dict())
    x = torch.randn(2, 4)
    with torch.no_grad():
        assert torch.equal(exported(x), model(x))


def test_the_canvas_gets_the_layers_inside_an_opened_use_by_their_id_in_the_block():
    report = validate(small_resnet())
    inside = report.inside_json("layer2.first.")  # Stage 'layer2', its DownBlock 'first'
    assert inside["nodes"]["conv1"]["output_shape"] == [128, 4, 4]  # 32 px in
    assert inside["params"] == sum(info.params for i, info in report.inner.items()
                                   if i.startswith("layer2.first."))
    assert validate(load_template("transformer_text")).inside_json("encoder.1.")["nodes"][
        "attention"]["params"] == 4224  # the second copy: (3 * 32 + 1) * 32 + 33 * 32
    broken = small_resnet()
    _node(broken, "conv2", "BasicBlock")["params"]["out_channels"] = 7
    problems = validate(broken).inside_json("layer1.0.")["problems"]
    assert [(p["node"], p["field"]) for p in problems] == [(None, "inputs")]
    assert problems[0]["message"].startswith("Add 'layer1.0.add' expects inputs of the same shape")


def test_layer_ids_put_the_layers_inside_a_block_where_the_block_is():
    report = validate(load_template("resnet_small"))
    assert report.layer_ids(list(report.nodes)) == [
        "x", "stem", "stem_bn", "stem_relu", "layer1.conv1", "layer1.bn1", "layer1.relu1",
        "layer1.conv2", "layer1.bn2", "layer1.skip", "layer1.relu2", "pool", "flat", "fc"]


def test_a_numbered_chain_of_causal_layers_keeps_its_mask(tmp_path):
    """nn.Sequential calls each item with its input alone: a chain of causal encoder layers
    (what importing an nn.TransformerEncoder makes) compiles as a class, so the mask is passed
    and a later token never changes an earlier output. Its layers take class attribute names
    (`n_0`), as a graph's top level does."""
    layer = {"type": "TransformerEncoderLayer", "params": {"nhead": 2, "dim_feedforward": 16,
                                                          "dropout": 0.0, "causal": True}}
    graph = {"version": 2, "name": "decoder", "blocks": {"Layers": {
        "params": {},
        "nodes": [{"id": "x", "type": "Input", "params": {}}, {"id": "0", **layer},
                  {"id": "1", **layer}],
        "edges": [{"source": "x", "target": "0"}, {"source": "0", "target": "1"}]}},
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [6, 8]}},
                  {"id": "layers", "type": "Layers", "params": {}}],
        "edges": [{"source": "x", "target": "layers"}]}
    model = compile_graph(graph).eval()
    assert not isinstance(model.layers, torch.nn.Sequential)
    assert "layers.n_1.linear1.weight" in model.state_dict()
    exported = load_module(to_python_code(graph), tmp_path / "decoder.py").Decoder().eval()
    exported.load_state_dict(model.state_dict())
    x = torch.randn(2, 6, 8)
    later = x.clone()
    later[:, 4:] = torch.randn(2, 2, 8)
    with torch.no_grad():
        assert torch.equal(model(later)[:, :4], model(x)[:, :4])
        torch.testing.assert_close(exported(x), model(x))
