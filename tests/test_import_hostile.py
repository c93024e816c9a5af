"""Hostile files: each import is refused (or degrades) with a clear message; nothing runs."""
import json
import os
import pickle
import zipfile
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

import builder.importers.pt2_archive as pt2_archive
from builder.export import export_pt2
from builder.importers import ImportRefused, import_model

TEMPLATES = Path(__file__).resolve().parents[1] / "builder" / "templates"


class _CreatesMarker:
    """Unpickling this creates the marker file: proof that something was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _rewrite(src: Path, dst: Path, replace: dict[str, bytes]) -> None:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            suffix = next((k for k in replace if info.filename.endswith(k)), None)
            new.writestr(info.filename, replace[suffix] if suffix else old.read(info))


def test_pt2_with_pickle_payloads_never_unpickles_and_says_which_weight(tmp_path):
    marker = tmp_path / "unpickled"
    export_pt2(TEMPLATES / "mlp_digits.json", tmp_path / "clean.pt2")
    with zipfile.ZipFile(tmp_path / "clean.pt2") as z:
        config_name = next(n for n in z.namelist() if n.endswith("model_weights_config.json"))
        config = json.loads(z.read(config_name))
    config["config"]["fc1.weight"]["use_pickle"] = True
    path = config["config"]["fc1.weight"]["path_name"]
    payload = pickle.dumps(_CreatesMarker(marker))
    _rewrite(tmp_path / "clean.pt2", tmp_path / "evil.pt2",
             {"sample_inputs/model.pt": payload, f"weights/{path}": payload,
              "model_weights_config.json": json.dumps(config).encode()})
    result = import_model(tmp_path / "evil.pt2")
    assert not marker.exists()
    assert result.complete and not result.weights_carried
    assert "fc1.weight is stored as a pickle, which LayerLoom never loads" in result.to_text()
    assert "fc1.weight" not in result.state_dict and "fc2.weight" in result.state_dict
    fc1 = next(n for n in result.graph["nodes"] if n["id"] == "fc1")
    assert fc1["params"]["out_features"] == 128  # the layer still maps, from the recorded shape


def test_pt2_zip_bomb_is_refused_before_unpacking(tmp_path, monkeypatch):
    monkeypatch.setattr(pt2_archive, "MAX_FILE_BYTES", 1 << 20)  # a 1 MB server for the test
    with zipfile.ZipFile(tmp_path / "bomb.pt2", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("m/models/model.json", "{}")
        z.writestr("m/data/weights/weight_0", bytes(32 << 20))
    assert (tmp_path / "bomb.pt2").stat().st_size < 1 << 20
    with pytest.raises(ImportRefused, match=r"bomb\.pt2 unpacks to 32 MB, more than the 1 MB"):
        import_model(tmp_path / "bomb.pt2")


def test_pt2_that_is_not_a_zip_or_not_an_export_is_named(tmp_path):
    (tmp_path / "a.pt2").write_bytes(b"not a zip")
    with pytest.raises(ImportRefused, match="a.pt2 is not a .pt2 archive"):
        import_model(tmp_path / "a.pt2")
    with zipfile.ZipFile(tmp_path / "b.pt2", "w") as z:
        z.writestr("b/data.pkl", b"")
    with pytest.raises(ImportRefused, match="has no models/model.json"):
        import_model(tmp_path / "b.pt2")


def test_pt2_with_a_malformed_program_is_refused_in_one_message(tmp_path):
    with zipfile.ZipFile(tmp_path / "m.pt2", "w") as z:
        z.writestr("m/models/model.json", json.dumps({"graph_module": {
            "graph": {"nodes": [{"target": "torch.ops.aten.relu.default"}], "tensor_values": {}},
            "signature": {"input_specs": [], "output_specs": []}}}))
    with pytest.raises(ImportRefused, match=r"m\.pt2: models/model.json is malformed \(KeyError"):
        import_model(tmp_path / "m.pt2")


def _onnx_file(tmp_path, dims, initializers=()) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y],
                              initializer=list(initializers))
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), path)
    return path


def test_onnx_input_with_absurd_dims_is_refused_naming_the_input(tmp_path):
    path = _onnx_file(tmp_path, ["batch", 100000, 100000, 100000])
    with pytest.raises(ImportRefused, match=r"input 'x' has shape .* more than the"):
        import_model(path)


def test_onnx_weight_claiming_absurd_dims_is_refused_before_allocation(tmp_path):
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20])
    path = _onnx_file(tmp_path, ["batch", 4], [huge])
    with pytest.raises(ImportRefused, match=r"initializer 'w' has shape \[1048576, 1048576\]"):
        import_model(path)


def test_onnx_external_data_is_never_opened(tmp_path):
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4],
                         data_location=TensorProto.EXTERNAL)
    weight.external_data.add(key="location", value="../../etc/passwd")
    path = _onnx_file(tmp_path, ["batch", 4], [weight])
    with pytest.raises(ImportRefused, match="external file, which is never opened"):
        import_model(path)


def test_garbage_onnx_is_refused(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"\xff\xff\xff garbage")
    with pytest.raises(ImportRefused, match="x.onnx is not an ONNX model"):
        import_model(tmp_path / "x.onnx")
