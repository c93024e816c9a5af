"""Imported operations with no catalog layer become Opaque nodes: with the shape the file
recorded, computing when they are a listed function, refused by name when they are not."""
import pytest
import torch
from torch import nn

from builder import GraphError, compile_graph
from builder.importers import import_model


class Running(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, dim=1).exp() * 0.5 + torch.amax(x, dim=1, keepdim=True)


class Flipped(nn.Module):
    def forward(self, x):
        return torch.flip(x, dims=[1])


def _export(inner: nn.Module, path, fmt: str) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), inner, nn.Linear(8, 2)).eval()
    example, batch = (torch.randn(2, 4),), ({0: torch.export.Dim("batch", min=1, max=64)},)
    if fmt == "pt2":
        torch.export.save(torch.export.export(model, example, dynamic_shapes=batch), path)
    else:
        torch.onnx.export(model, example, str(path), dynamo=True, external_data=False,
                          dynamic_shapes=batch)
    return model


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_listed_operations_are_kept_computing(fmt, tmp_path):
    model = _export(Running(), tmp_path / f"m.{fmt}", fmt)
    result = import_model(tmp_path / f"m.{fmt}")
    assert not result.complete and result.computable and result.weights_carried, result.to_text()
    kept = {item.node.removesuffix("_6") for item in result.opaque}  # ONNX names it mul_6
    assert kept == {"cumsum", "exp", "amax", "mul"}
    assert "(computes as before)" in result.to_text()
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict, strict=True)
    x = torch.randn(3, 4)
    torch.testing.assert_close(imported(x), model(x))


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_other_operations_keep_their_shape_and_are_refused_by_name(fmt, tmp_path):
    _export(Flipped(), tmp_path / f"m.{fmt}", fmt)
    result = import_model(tmp_path / f"m.{fmt}")
    (item,) = result.opaque
    assert not item.computes and not result.computable and not result.unmapped
    node = next(n for n in result.graph["nodes"] if n["type"] == "Opaque")
    assert node["params"]["output_shape"] == [8]
    assert "shows its shape only" in result.to_text()
    with pytest.raises(GraphError, match="cannot compute"):
        compile_graph(result.graph)
