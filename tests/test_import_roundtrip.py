"""Export a template (ONNX, .pt2), import it back: same parameters, same outputs, same weights."""
import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch import nn

from builder.blocks import expand
from builder.compile import compile_graph
from builder.export import example_inputs, export_onnx, export_pt2
from builder.importers import import_model
from builder.naming import attr_name
from builder.spec import load_graph

TEMPLATES = Path(__file__).resolve().parents[1] / "builder" / "templates"
EXPORTERS = {"pt2": export_pt2, "onnx": export_onnx}
ROUND_TRIPS = [("mlp_digits", "pt2"), ("cnn_seed", "pt2"), ("resnet_small", "pt2"),
               ("inception_block", "pt2"), ("autoencoder_conv", "pt2"), ("transformer_text", "pt2"),
               ("mlp_digits", "onnx"), ("cnn_seed", "onnx"), ("autoencoder_dense", "onnx"),
               ("gan", "onnx"), ("lstm_seed", "pt2"), ("gru_forecast", "pt2"),
               ("lstm_seed", "onnx"), ("gru_forecast", "onnx")]


def _export_and_import(name: str, fmt: str, tmp_path):
    graph = load_graph(TEMPLATES / f"{name}.json")
    torch.manual_seed(0)  # export compiles its own model: seed it to rebuild the same weights
    EXPORTERS[fmt](graph, tmp_path / f"{name}.{fmt}")
    torch.manual_seed(0)
    original = compile_graph(graph).eval()
    return graph, original, import_model(tmp_path / f"{name}.{fmt}")


def _same_outputs(graph, original, imported) -> None:
    inputs = example_inputs(graph, original, batch=3)
    expected, got = original(*inputs), imported(*inputs)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def _param_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name,fmt", ROUND_TRIPS)
def test_round_trip_keeps_parameters_and_outputs(name, fmt, tmp_path):
    graph, original, result = _export_and_import(name, fmt, tmp_path)
    assert result.complete and result.weights_carried, result.to_text()
    imported = compile_graph(json.loads(json.dumps(result.graph))).eval()  # a plain JSON file
    imported.load_state_dict(result.state_dict, strict=True)
    assert _param_count(imported) == _param_count(original)
    assert _structure(load_graph(result.graph)) == _structure(graph)
    _same_outputs(graph, original, imported)


def _structure(graph) -> tuple[Counter, dict]:
    """The layers the graph computes once its blocks are expanded, and where it uses which block
    how many times. A model with several outputs gains Output nodes that keep their order;
    Dropout does nothing in eval mode, so the exported program has none to import; a block's
    Input and Output nodes expand to Identity."""
    expansion = expand(graph)
    skipped = {"Output", "Dropout", "Identity"}
    types = Counter(n.type for n in expansion.graph.nodes if n.type not in skipped)
    uses = {attr_name(prefix): (use.block, use.repeat) for prefix, use in expansion.uses.items()}
    return types, uses


def test_onnx_folds_batch_norm_into_conv_yet_computes_the_same(tmp_path):
    """torch's ONNX exporter folds eval-mode BatchNorm into the Conv before it: the imported
    graph has no BatchNorm (96 fewer parameters) but the same outputs."""
    graph, original, result = _export_and_import("resnet_small", "onnx", tmp_path)
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict)
    assert "BatchNorm2d" not in {n["type"] for n in result.graph["nodes"]}
    assert _param_count(imported) == _param_count(original) - 3 * 2 * 16
    _same_outputs(graph, original, imported)


def test_unmapped_operation_is_reported_with_its_place_and_leaves_a_gap(tmp_path):
    """sort (two results) has no layer and cannot be kept as an Opaque node: the import still
    succeeds, names the op and its module, and the node it fed is listed as the gap to fill."""

    class Running(nn.Module):
        def forward(self, x):
            return torch.sort(x, dim=1)[0]

    model = nn.Sequential(nn.Linear(4, 8), Running(), nn.Linear(8, 2)).eval()
    torch.export.save(torch.export.export(model, (torch.randn(2, 4),)), tmp_path / "m.pt2")
    result = import_model(tmp_path / "m.pt2")
    assert not result.complete
    (item,) = result.unmapped
    assert item.op == "aten.sort.default" and "module '1'" in item.where
    assert item.feeds == ["n_2"]
    assert {"n_0", "n_2"} == {n["id"] for n in result.graph["nodes"] if n["type"] == "Linear"}
    assert "have no LayerLoom layer" in result.to_text()


def test_cli_import_writes_graph_and_weights_and_prints_report(tmp_path, capsys):
    from safetensors.torch import load_file

    from builder.cli import main

    export_pt2(TEMPLATES / "mlp_digits.json", tmp_path / "m.pt2")
    code = main(["import", str(tmp_path / "m.pt2"), "-o", str(tmp_path / "g.json"),
                 "--weights", str(tmp_path / "w.safetensors")])
    assert code == 0
    assert "mapped: 2 x linear" in capsys.readouterr().out
    model = compile_graph(load_graph(tmp_path / "g.json"))
    model.load_state_dict(load_file(tmp_path / "w.safetensors"), strict=True)


@pytest.mark.parametrize("norm_first,activation,batch_first", [(False, "relu", True),
                                                              (True, "gelu", True),
                                                              (False, "relu", False)])
def test_transformer_encoder_layer_is_one_layer_when_the_catalog_computes_it(
        norm_first, activation, batch_first, tmp_path):
    """A whole nn.TransformerEncoderLayer call becomes the catalog's layer, with the original's
    parameter names and outputs; a time-first one (batch_first=False), which the catalog's layer
    is not, is never mapped to it (its pieces arrive instead)."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, 32, activation=activation, norm_first=norm_first,
                                       batch_first=batch_first, layer_norm_eps=1e-6)
    model = nn.Sequential(nn.Linear(8, 16), layer, nn.Linear(16, 3)).eval()
    x = torch.randn(2, 5, 8)
    torch.export.save(torch.export.export(model, (x,)), tmp_path / "m.pt2")
    result = import_model(tmp_path / "m.pt2")
    encoders = [n for n in result.graph["nodes"] if n["type"] == "TransformerEncoderLayer"]
    if not batch_first:
        assert not encoders and result.graph["blocks"]
        return
    assert result.complete, result.to_text()
    assert len(encoders) == 1 and not result.graph.get("blocks")
    params = encoders[0]["params"]
    assert (params["nhead"], params["dim_feedforward"], params["activation"],
            params["norm_first"], params["layer_norm_eps"]) == (4, 32, activation, norm_first, 1e-6)
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict, strict=True)  # 1.linear1.weight -> n_1.linear1...
    with torch.no_grad():
        torch.testing.assert_close(imported(x), model(x), atol=1e-5, rtol=1e-4)
    assert any("'1' is 'n_1'" in note for note in result.notes)  # a Sequential model's numbers
