"""Saved runs round-trip; every bad weights file is refused before anything is materialised."""
import json
import pickle
import struct

import pytest
import torch

from builder import compile_graph
from builder.templates import load_template
from trainers.checkpoints import (CheckpointError, load_run, load_weights, read_weights,
                                  save_run, save_weights)
from trainers.config import make_config


@pytest.fixture
def model():
    torch.manual_seed(0)
    return compile_graph(load_template("mlp_digits"))


def test_a_saved_run_loads_back_identically(tmp_path, model):
    graph = model.graph.to_dict()
    save_run(tmp_path / "run", graph=graph, state=model.state_dict(), config=make_config(lr=0.5),
             metrics_csv="epoch,train_loss\n1,0.5\n")
    files = load_run(tmp_path / "run")
    assert files.graph == graph and files.config.lr == 0.5 and files.metrics_csv.startswith("epoch")
    fresh = compile_graph(files.graph)
    load_weights(files.weights_path, fresh)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in model.state_dict().items())


def test_a_wrong_shape_names_the_tensor(tmp_path, model):
    graph = load_template("mlp_digits")
    graph.nodes[2].params["out_features"] = 32  # fc1: 128 -> 32 units
    save_weights(compile_graph(graph).state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match=r"'fc1.weight' has shape \[32, 64\], expected \[128, 64\]"):
        load_weights(tmp_path / "w.safetensors", model)


def test_missing_extra_and_retyped_tensors_are_each_named(tmp_path, model):
    state = dict(model.state_dict())
    state.pop("fc2.bias")
    state["stray.weight"] = torch.zeros(2)
    state["fc1.bias"] = state["fc1.bias"].double()
    save_weights(state, tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError) as err:
        load_weights(tmp_path / "w.safetensors", model)
    message = str(err.value)
    assert "'fc2.bias' is missing" in message and "'stray.weight' is not in this graph" in message
    assert "'fc1.bias' is F64, expected torch.float32" in message


class Payload:
    """Unpickling this would create a file: proof that loading ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_malicious_pickle_is_refused_without_running_it(tmp_path, model, writer):
    marker, path = tmp_path / "pwned", tmp_path / "weights.safetensors"
    if writer == "torch.save":
        torch.save({"fc1.weight": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CheckpointError, match="is not a safetensors weights file"):
        load_weights(path, model)
    assert not marker.exists()


def test_a_huge_announced_header_is_refused_before_reading_it(tmp_path, model):
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(CheckpointError, match=r"announce a 1099511627776-byte header in a 10-byte file"):
        load_weights(path, model)


def test_offsets_past_the_end_and_truncated_data_are_refused(tmp_path, model):
    path = tmp_path / "w.safetensors"
    save_weights(model.state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[:-100])  # lose the end of the last tensor
    with pytest.raises(CheckpointError, match="points outside the file"):
        read_weights(path, model.state_dict())
    header = {"fc1.weight": {"dtype": "F32", "shape": [64, 64], "data_offsets": [0, 10]}}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(10))
    with pytest.raises(CheckpointError, match="'fc1.weight' holds 10 bytes, expected 16384"):
        read_weights(path, {"fc1.weight": torch.zeros(64, 64)})


def test_a_run_folder_without_its_graph_or_with_bad_settings_is_named(tmp_path, model):
    save_run(tmp_path, graph=model.graph.to_dict(), state=model.state_dict(), config=make_config())
    (tmp_path / "settings.json").write_text(json.dumps({"lr": -3}))
    with pytest.raises(CheckpointError, match=r"settings.json: lr: Input should be greater than 0"):
        load_run(tmp_path)
    (tmp_path / "graph.json").unlink()
    with pytest.raises(CheckpointError, match=r"graph.json: missing"):
        load_run(tmp_path)


def write_header(path, raw: bytes) -> None:
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(16))


@pytest.mark.parametrize("entry", [
    {"dtype": [], "shape": [64, 64], "data_offsets": [0, 16]},  # was TypeError: unhashable list
    {"dtype": {"a": 1}, "shape": [64, 64], "data_offsets": [0, 16]},
    {"dtype": "F32", "shape": [[64], 64], "data_offsets": [0, 16]},
    {"dtype": "F32", "shape": [True, 64], "data_offsets": [0, 16]},
])
def test_header_entries_of_the_wrong_kind_are_called_malformed(tmp_path, entry):
    path = tmp_path / "w.safetensors"
    write_header(path, json.dumps({"fc1.weight": entry}).encode())
    with pytest.raises(CheckpointError, match="'fc1.weight' has a malformed header entry"):
        read_weights(path, {"fc1.weight": torch.zeros(64, 64)})


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000,  # was RecursionError
                                 b'{"a": ' + b"9" * 5000 + b"}"])  # was ValueError
def test_a_header_nested_too_deeply_or_with_huge_numbers_is_refused(tmp_path, raw):
    path = tmp_path / "w.safetensors"
    write_header(path, raw)
    with pytest.raises(CheckpointError, match="is not a safetensors weights file .*too deeply"):
        read_weights(path, {"fc1.weight": torch.zeros(64, 64)})


def test_nan_starting_weights_are_named_not_blamed_on_the_learning_rate(tmp_path, model):
    """A run from NaN weights diverged at once with the advice "lower the learning rate"."""
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    state["fc1.weight"][0, 0] = float("nan")
    path = tmp_path / "w.safetensors"
    save_weights(state, path)
    with pytest.raises(CheckpointError, match=r"NaN or infinite starting weights \(in 'fc1.weight'\)"):
        load_weights(path, model)


def test_a_run_from_nan_weights_fails_at_start_with_that_reason(tmp_path, model):
    from trainers.config import RunSpec, TrainConfig
    from trainers.loop import TrainingError, train_run
    state = {name: torch.full_like(tensor, float("inf")) for name, tensor in model.state_dict().items()}
    path = tmp_path / "w.safetensors"
    save_weights(state, path)
    spec = RunSpec(graph=load_template("mlp_digits").to_dict(), dataset="digits",
                   config=TrainConfig(epochs=1), init_state=str(path))
    with pytest.raises(TrainingError, match="NaN or infinite starting weights"):
        train_run(spec, None, lambda event: None)
