"""`python -m trainers`: progress lines, one final JSON line, files written, plain errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from builder import compile_graph, save_graph
from builder.templates import load_template
from trainers.checkpoints import load_run, load_weights
from trainers.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def mlp_file(tmp_path):
    path = tmp_path / "mlp.json"
    save_graph(load_template("mlp_digits"), path)
    return path


def test_train_prints_epochs_then_one_json_line_and_writes_its_files(tmp_path, mlp_file, capsys):
    code = main(["train", str(mlp_file), "--dataset", "digits", "--epochs", "2", "--lr", "0.01",
                 "--optimizer", "sgd", "--seed", "1", "--metrics-out", str(tmp_path / "m.csv"),
                 "--save-dir", str(tmp_path / "run")])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert lines[0].startswith("epoch 1/2  train loss") and "val accuracy" in lines[0]
    final = json.loads(lines[-1])
    assert set(final) == {"test_accuracy", "test_loss", "epochs", "seconds", "status"}
    assert final["epochs"] == 2 and 0.1 < final["test_accuracy"] <= 1
    assert len((tmp_path / "m.csv").read_text().splitlines()) == 3  # header + 2 epochs
    saved = load_run(tmp_path / "run")
    assert saved.config.optimizer == "sgd" and saved.config.seed == 1
    load_weights(saved.weights_path, compile_graph(saved.graph))


def test_a_gan_reports_no_test_metric(tmp_path, capsys):
    path = tmp_path / "gan.json"
    save_graph(load_template("gan"), path)
    assert main(["train", str(path), "--dataset", "digits", "--task", "gan", "--epochs", "1"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["test_loss"] is None and "test_accuracy" not in final


@pytest.mark.parametrize("args,message", [
    (["--dataset", "digitz"], "no dataset called 'digitz'. Did you mean 'digits'?"),
    (["--dataset", "digits", "--lr", "-1"], "lr: Input should be greater than 0"),
    (["--dataset", "digits", "--device", "cuda:9"], "device 'cuda:9' is not available"),
    (["--dataset", "digits", "--option", "noise"], "write it as KEY=VALUE"),
])
def test_bad_settings_are_one_plain_error_line(mlp_file, capsys, args, message):
    assert main(["train", str(mlp_file), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_a_broken_graph_file_is_named(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x", "nodes": [')
    assert main(["train", str(path), "--dataset", "digits"]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_graph_that_does_not_fit_the_data_fails_with_the_reason(tmp_path, capsys):
    path = tmp_path / "mlp.json"
    save_graph(load_template("mlp_digits"), path)
    assert main(["train", str(path), "--dataset", "moons", "--epochs", "1"]) == 2
    assert "error:" in capsys.readouterr().err


def test_datasets_lists_the_catalog_as_a_module():
    out = subprocess.run([sys.executable, "-m", "trainers", "datasets"], cwd=ROOT, text=True,
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    names = [line.split()[0] for line in out.stdout.splitlines()]
    assert {"digits", "moons", "shapes", "sentiment"} <= set(names)


def test_train_applies_the_servers_model_limits_unless_lifted(tmp_path, capsys, monkeypatch):
    """A 1.26 B-parameter graph grew to 22 GB before the kernel killed it."""
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"name": "big", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [1, 8, 8]}},
        {"id": "flat", "type": "Flatten", "params": {}},
        {"id": "wide", "type": "Linear", "params": {"out_features": 200_000}},
        {"id": "out", "type": "Linear", "params": {"out_features": 10}}],
        "edges": [{"source": "x", "target": "flat"}, {"source": "flat", "target": "wide"},
                  {"source": "wide", "target": "out"}]}))
    assert main(["train", str(path), "--dataset", "digits", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "The model has 15,000,010 parameters; this server allows at most 10,000,000" in err
    assert "--no-limits lifts the limits" in err
    for lifted in (["--no-limits"], []):  # the flag, or the server's own variable
        if not lifted:
            monkeypatch.setenv("LAYERLOOM_MAX_PARAMS", "20000000")
        assert main(["train", str(path), "--dataset", "digits", "--epochs", "1",
                     "--option", "nope=1", *lifted]) == 2  # past the limits: the option is next
        assert "no option 'nope'" in capsys.readouterr().err
