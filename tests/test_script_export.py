"""The exported training project runs on its own, on one process and under torchrun with DDP."""
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

builder = pytest.importorskip("builder")
from trainers.script_export import ExportError, training_project_files, write_project, zip_project  # noqa: E402

CONFIG = {"optimizer": "adam", "lr": 0.01, "batch_size": 16, "epochs": 2, "seed": 3,
          "weight_decay": 0.0, "scheduler": "cosine", "grad_clip": 1.0}


def tiny_graph(inputs: int = 1):
    nodes = [{"id": f"x{i}", "type": "Input", "params": {"shape": [4]}} for i in range(inputs)]
    nodes += [{"id": "fc1", "type": "Linear", "params": {"out_features": 8}},
              {"id": "act", "type": "ReLU", "params": {}},
              {"id": "fc2", "type": "Linear", "params": {"out_features": 3}}]
    edges = [{"source": "x0", "target": "fc1"}, {"source": "fc1", "target": "act"},
             {"source": "act", "target": "fc2"}]
    return builder.load_graph({"version": 1, "name": "tiny", "nodes": nodes, "edges": edges})


def tiny_bundle():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(96, 4, generator=generator)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 1).long()  # 3 learnable classes
    return SimpleNamespace(x_train=x[:64], y_train=y[:64], x_val=x[64:80], y_val=y[64:80],
                           x_test=x[80:], y_test=y[80:])


def run_script(folder, *launcher):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, *launcher, "train.py"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def project(tmp_path):
    return write_project(training_project_files(tiny_graph(), tiny_bundle(), CONFIG, "classification"),
                         tmp_path / "project")


def test_single_process_run_trains_and_saves_weights(project):
    lines = run_script(project)
    final = lines[-1]
    assert final["epochs"] == 2 and 0.0 <= final["test_accuracy"] <= 1.0
    assert final["world_size"] == 1 and len(final["weights_sha256_by_rank"]) == 1
    assert (project / "model.safetensors").stat().st_size > 0


@pytest.mark.slow
def test_torchrun_two_ranks_agree_on_final_weights(project):
    final = run_script(project, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2")[-1]
    assert final["world_size"] == 2
    first, second = final["weights_sha256_by_rank"]
    assert first == second, "DDP ranks ended with different weights"


def test_export_refuses_what_the_script_cannot_train():
    with pytest.raises(ExportError, match="task 'gan'"):
        training_project_files(tiny_graph(), tiny_bundle(), CONFIG, "gan")
    with pytest.raises(ExportError, match="2 Inputs"):
        training_project_files(tiny_graph(inputs=2), tiny_bundle(), CONFIG, "classification")


def test_zip_holds_every_file_under_one_folder():
    import io
    import zipfile
    files = training_project_files(tiny_graph(), tiny_bundle(), CONFIG, "classification")
    names = zipfile.ZipFile(io.BytesIO(zip_project(files))).namelist()
    assert sorted(names) == sorted(f"layerloom_project/{name}" for name in files)


def test_the_train_page_packs_a_run_as_a_project_zip():
    import io
    import zipfile

    from builder.templates import load_template
    from trainers.config import default_config
    from ui.train_history import training_project_zip

    run = SimpleNamespace(graph=load_template("mlp_playground").to_dict(), dataset="moons",
                          dataset_options={"n_samples": 200}, config=default_config("classification", seed=4))
    archive = zipfile.ZipFile(io.BytesIO(training_project_zip(run, "run1")))
    assert sorted(archive.namelist()) == sorted(f"run1/{name}" for name in
                                                ("model.py", "train.py", "config.json", "data.safetensors", "README.md"))
    config = json.loads(archive.read("run1/config.json"))
    assert config["seed"] == 4 and config["task"] == "classification"


def test_a_tied_model_trains_and_its_weights_load_back_into_layerloom(tmp_path):
    from safetensors.torch import load_file

    nodes = [{"id": "tokens", "type": "Input", "params": {"shape": [3], "dtype": "long"}},
             {"id": "embed", "type": "Embedding", "params": {"num_embeddings": 5,
                                                             "embedding_dim": 6}},
             {"id": "head", "type": "Linear", "params": {"out_features": 5,
                                                         "tie_weight": "embed"}},
             {"id": "pool", "type": "MeanPool", "params": {}}]
    graph = builder.load_graph({"version": 1, "name": "tied", "nodes": nodes, "edges": [
        {"source": a, "target": b} for a, b in [("tokens", "embed"), ("embed", "head"),
                                                ("head", "pool")]]})
    tokens = torch.randint(0, 5, (96, 3), generator=torch.Generator().manual_seed(0))
    labels = tokens[:, 0] % 3
    bundle = SimpleNamespace(x_train=tokens[:64], y_train=labels[:64], x_val=tokens[64:80],
                             y_val=labels[64:80], x_test=tokens[80:], y_test=labels[80:])
    folder = write_project(training_project_files(graph, bundle, CONFIG, "classification"),
                           tmp_path / "project")
    run_script(folder)
    saved = load_file(folder / "model.safetensors")
    assert sorted(saved) == ["embed.weight", "head.bias"]  # the shared table once
    model = builder.compile_graph(graph)
    model.load_state_dict(saved)
    assert model.head.weight is model.embed.weight and torch.equal(model.embed.weight,
                                                                    saved["embed.weight"])
