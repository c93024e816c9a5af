"""ONNX and torch.export (.pt2) exports load back and behave like the compiled graph."""
import importlib.util

import pytest
import torch

from builder import GraphError, compile_graph
from builder.export import (ExportError, MissingExportDependency, example_inputs, export_onnx,
                            export_pt2)
from builder.templates import load_template


# gan: two inputs and two outputs; autoencoder_dense has a node named "code", an attribute that
# torch.fx modules already own, so its submodule must get another name to load back.
@pytest.mark.parametrize("name", ["cnn_seed", "gan", "autoencoder_dense"])
def test_pt2_export_matches_the_compiled_model_at_a_new_batch_size(name, tmp_path):
    graph = load_template(name)
    path = export_pt2(graph, tmp_path / f"{name}.pt2")

    exported = torch.export.load(str(path)).module()
    model = compile_graph(graph).eval()
    exported.load_state_dict(model.state_dict())
    inputs = example_inputs(graph, model, batch=5)  # traced with 2: the batch must stay dynamic
    with torch.no_grad():
        expected = model(*inputs)
    actual = exported(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    actual = actual if isinstance(actual, tuple) else (actual,)
    for got, want in zip(actual, expected, strict=True):
        torch.testing.assert_close(got, want)


def test_onnx_export_names_inputs_after_nodes_and_keeps_batch_dynamic(tmp_path):
    onnx = pytest.importorskip("onnx", reason="the onnx package is not installed")
    if importlib.util.find_spec("onnxscript") is None:
        pytest.skip("onnxscript is not installed, so torch cannot export ONNX here")
    path = export_onnx(load_template("cnn_seed"), tmp_path / "cnn.onnx")

    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    (graph_input,) = proto.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.name == "x"
    assert dims[0].dim_param  # symbolic, not a fixed number
    assert [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert [out.name for out in proto.graph.output] == ["fc2"]


def test_missing_onnx_package_gives_an_install_hint(monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxscript" else real_find_spec(name, *a))
    with pytest.raises(MissingExportDependency, match="onnxscript.*pip install onnxscript"):
        export_onnx(load_template("mlp_digits"), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_invalid_graph_is_reported_as_graph_problems_not_an_export_failure(tmp_path):
    graph = load_template("mlp_digits").to_dict()
    fc1 = next(node for node in graph["nodes"] if node["id"] == "fc1")
    fc1["params"]["out_features"] = -3
    with pytest.raises(GraphError, match="fc1"):
        export_pt2(graph, tmp_path / "bad.pt2")
    assert not (tmp_path / "bad.pt2").exists()


def test_tracing_failure_names_the_graph_and_the_innermost_reason(monkeypatch, tmp_path):
    def fail_to_trace(*args, **kwargs):
        try:
            raise RuntimeError("\x1b[96mdata-dependent branch\x1b[0m in forward\nstack...")
        except RuntimeError as reason:
            raise ValueError("step 2/3 failed, see above") from reason

    monkeypatch.setattr(torch.export, "export", fail_to_trace)
    with pytest.raises(ExportError) as caught:
        export_pt2(load_template("mlp_digits"), tmp_path / "m.pt2")
    assert str(caught.value) == ("torch.export of graph 'mlp_digits' failed: "
                                 "RuntimeError: data-dependent branch in forward")
