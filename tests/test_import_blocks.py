"""Import turns the module hierarchy into blocks: a class used several times is one block, a
Sequential of copies a repeat, and the state_dict keys are the original model's."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from builder import compile_graph, to_python_code, validate
from builder.export import export_onnx, export_pt2
from builder.importers import import_model
from builder.spec import load_graph
from tests.reference_graphs import resnet18_blocks
from tests.test_import_roundtrip import _structure
from tests.test_builder_codegen import load_module

torch.set_num_threads(1)
EXPORTERS = {"pt2": export_pt2, "onnx": export_onnx}


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, one nn.ReLU called twice included."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    """torchvision's resnet18 layout (attribute names, Sequential stages), narrower."""

    def __init__(self, width: int = 8, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = width
        for i, cout in enumerate((width, 2 * width, 4 * width, 8 * width), start=1):
            stride = 1 if i == 1 else 2
            setattr(self, f"layer{i}", nn.Sequential(BasicBlock(cin, cout, stride),
                                                     BasicBlock(cout, cout)))
            cin = cout
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):                                   # (N, 3, H, W)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))  # (N, classes)


class EncoderLayer(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, 2, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x):                                   # (N, T, E)
        x = self.norm1(x + self.attn(x, x, x, need_weights=False)[0])
        return self.norm2(x + self.ff(x))


class Encoder(nn.Module):
    def __init__(self, width: int = 16, layers: int = 3):
        super().__init__()
        self.embed = nn.Embedding(50, width)
        self.layers = nn.ModuleList(EncoderLayer(width) for _ in range(layers))
        self.head = nn.Linear(width, 4)

    def forward(self, tokens):                              # (N, T) ids
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.head(x.mean(dim=1))


def _import(model, example, tmp_path, fmt="pt2"):
    path = tmp_path / f"model.{fmt}"
    if fmt == "pt2":
        torch.export.save(torch.export.export(model, (example,)), path)
    else:
        torch.onnx.export(model, (example,), str(path), dynamo=True, external_data=False)
    return import_model(path)


def _ported(result):
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict, strict=True)
    return imported


def test_resnet18_imports_as_blocks_with_the_original_state_dict_keys(tmp_path):
    torch.manual_seed(0)
    model, x = ResNet18().eval(), torch.randn(2, 3, 64, 64)
    result = _import(model, x, tmp_path)
    graph = result.graph
    assert graph["version"] == 2 and result.complete and result.weights_carried
    uses = {n["id"]: (n["type"], n["params"].get("repeat", 1)) for n in graph["nodes"]
            if n["type"] in graph["blocks"]}
    assert uses == {"layer1": ("BasicBlock", 2), "layer2": ("Layer", 1),
                    "layer3": ("Layer", 1), "layer4": ("Layer", 1)}
    layer = graph["blocks"]["Layer"]  # a Sequential: the first block halves the image
    assert [(n["id"], n["type"]) for n in layer["nodes"]] == [
        ("x", "Input"), ("0", "BasicBlock_2"), ("1", "BasicBlock")]
    assert "downsample" in {n["id"] for n in graph["blocks"]["BasicBlock_2"]["nodes"]}
    assert validate(graph).total_params == sum(p.numel() for p in model.parameters())
    assert list(result.state_dict) and set(result.state_dict) == set(model.state_dict())
    imported = _ported(result)
    assert set(imported.state_dict()) == set(model.state_dict())  # (in the order they run)
    imported.load_state_dict(model.state_dict())  # published weights load without renaming
    with torch.no_grad():
        torch.testing.assert_close(imported(x), model(x))
    report = result.to_text()
    assert "block: BasicBlock (class" in report and "5 uses at layer1.0, layer1.1, " in report
    assert "differs from BasicBlock: it has downsample" in report


def test_exported_python_of_an_imported_resnet_keeps_the_keys(tmp_path):
    torch.manual_seed(0)
    model, x = ResNet18().eval(), torch.randn(1, 3, 32, 32)
    result = _import(model, x, tmp_path)
    source = to_python_code(result.graph)
    assert "self.downsample = nn.Sequential(" in source and "class BasicBlock_2(" in source
    exported = getattr(load_module(source, tmp_path / "resnet.py"), "Model")().eval()
    exported.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(exported(x), model(x))


def test_encoder_layers_in_a_module_list_become_one_repeated_block(tmp_path):
    torch.manual_seed(0)
    model, tokens = Encoder().eval(), torch.randint(0, 50, (2, 7))
    result = _import(model, tokens, tmp_path)
    assert result.complete, result.to_text()
    layers = next(n for n in result.graph["nodes"] if n["id"] == "layers")
    assert (layers["type"], layers["params"]["repeat"]) == ("EncoderLayer", 3)
    inner = {n["type"] for n in result.graph["blocks"]["EncoderLayer"]["nodes"]}
    assert {"MultiheadAttention", "LayerNorm", "Ff"} <= inner  # ff: a one-use Sequential
    imported = _ported(result)
    assert set(imported.state_dict()) == set(model.state_dict())  # (in the order they run)
    imported.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(imported(tokens), model(tokens))


def test_onnx_carries_the_hierarchy_but_folds_batch_norm(tmp_path):
    """torch's ONNX exporter records each operation's module path, so blocks form as from .pt2;
    it folds eval-mode BatchNorm into the Conv before it, so bn keys are absent."""
    torch.manual_seed(0)
    model, x = ResNet18().eval(), torch.randn(1, 3, 32, 32)
    result = _import(model, x, tmp_path, fmt="onnx")
    assert {"BasicBlock", "BasicBlock_2", "Layer"} <= set(result.graph["blocks"])
    keys = {k for k in model.state_dict() if ".bn" not in k and not k.startswith("bn")
            and "downsample.1" not in k}
    assert {k for k in result.state_dict if k.endswith("weight")} == \
        {k for k in keys if k.endswith("weight")}
    with torch.no_grad():
        torch.testing.assert_close(_ported(result)(x), model(x), atol=1e-4, rtol=1e-4)


def test_a_module_with_two_values_leaving_it_stays_flat_and_the_report_says_why(tmp_path):
    class Split(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x), self.b(x)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.split = Split()

        def forward(self, x):
            a, b = self.split(x)
            return F.relu(a) + b

    result = _import(Model().eval(), torch.randn(2, 4), tmp_path)
    assert "module 'split' (" in result.to_text() and "kept flat: 2 values leave it" in \
        result.to_text()
    assert {n["id"] for n in result.graph["nodes"]} >= {"split_a", "split_b"}
    assert any("'split.a' is 'split_a'" in note for note in result.notes)


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_a_graph_with_blocks_comes_back_with_the_same_blocks(fmt, tmp_path):
    """Export a LayerLoom graph with blocks (its classes: BasicBlock, DownBlock, Stage), import
    it: the same blocks used in the same places, the same state_dict keys and outputs (ONNX:
    without the BatchNorms its exporter folds into the convolutions)."""
    graph = load_graph(resnet18_blocks(num_classes=10, size=32))
    torch.manual_seed(0)
    EXPORTERS[fmt](graph, tmp_path / f"r.{fmt}")
    torch.manual_seed(0)
    original = compile_graph(graph).eval()
    result = import_model(tmp_path / f"r.{fmt}")
    assert result.complete and result.weights_carried, result.to_text()
    types, uses = _structure(load_graph(result.graph))
    want_types, want_uses = _structure(graph)
    assert uses == want_uses  # layer1: BasicBlock x 2, layer2..4: Stage, layer3.first: DownBlock
    if fmt == "pt2":
        assert types == want_types
        assert list(result.state_dict) == list(original.state_dict())
    else:
        del want_types["BatchNorm2d"]
        assert types == want_types
    imported = _ported(result)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(imported(x), original(x), atol=1e-4, rtol=1e-4)
