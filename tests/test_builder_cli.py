"""python -m builder check / export: output shapes, JSON contract, exit codes."""
import json
import subprocess
import sys
import types

import pytest

from builder.cli import main
from tests.test_builder_compile import TWO_IN_TWO_OUT


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(TWO_IN_TWO_OUT))
    return path


def test_check_json_has_the_documented_shape(graph_file, capsys):
    assert main(["check", str(graph_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is True and out["problems"] == []
    assert out["params"] == (5 * 4 + 4) + (5 + 1)
    assert out["nodes"]["cat"] == {"type": "Concat", "output_shape": [5], "params": 0,
                                   "flops": 0, "activation_bytes": 20, "dtype": "float"}
    assert out["flops"] == sum(node["flops"] for node in out["nodes"].values())


def test_check_invalid_exits_1_and_names_the_node(tmp_path, capsys):
    bad = json.loads(json.dumps(TWO_IN_TWO_OUT))
    bad["nodes"][3]["params"] = {"out_features": "four"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    assert "error: node 'head 1' [out_features]: Linear 'head 1': out_features must be an " \
           "integer, got 'four'" in captured.err
    assert "cat" in captured.out and "total:" in captured.out


def test_check_reports_unreadable_json_with_its_line(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"nodes": [\n  {"id": "x",}\n]}')
    assert main(["check", str(path), "--json"]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert problem["message"].startswith("invalid JSON at line 2")


def test_export_py_writes_the_module(graph_file, tmp_path, capsys):
    out = tmp_path / "model.py"
    assert main(["export", str(graph_file), "--format", "py", "-o", str(out),
                 "--class-name", "Net"]) == 0
    assert "class Net(nn.Module):" in out.read_text()


def test_export_reports_a_failing_plugin_without_a_traceback(graph_file, tmp_path, capsys,
                                                             monkeypatch):
    plugin = types.ModuleType("builder.export")
    plugin.ExportError = type("ExportError", (Exception,), {})

    def refuse(graph, path):
        raise plugin.ExportError("ONNX export needs the 'onnx' package: pip install onnx")

    plugin.export_onnx = refuse
    monkeypatch.setitem(sys.modules, "builder.export", plugin)
    assert main(["export", str(graph_file), "--format", "onnx", "-o", str(tmp_path / "m")]) == 2
    assert "onnx export failed: ONNX export needs the 'onnx' package" in capsys.readouterr().err


def test_module_entry_point_runs(graph_file):
    result = subprocess.run([sys.executable, "-m", "builder", "check", str(graph_file)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["node", "type", "output", "shape", "params",
                                                     "FLOPs"]
