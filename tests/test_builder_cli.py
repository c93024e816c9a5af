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

    def refuse(graph, path, **limits):
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


# --- issue #12: model limits by default, checked class names, escaped terminal output ---------

def big_graph(width: int = 7_000) -> dict:
    return {"name": "big", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [width]}},
        {"id": "fc", "type": "Linear", "params": {"out_features": width}}],
        "edges": [{"source": "x", "target": "fc"}]}


def test_binary_export_obeys_the_model_limits_unless_lifted(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big_graph()))  # 49M parameters
    out = tmp_path / "m.pt2"
    assert main(["export", str(path), "--format", "pt2", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "49,007,000 parameters; the limit here is 10,000,000" in err and "--no-limits" in err
    assert not out.exists()
    assert main(["export", str(path), "--format", "pt2", "-o", str(out),
                 "--max-params", "50000000"]) == 0


@pytest.mark.parametrize("name", ["x; import os", "class", "1Model", "torch", "Add", "Ça"])
def test_class_name_is_checked(graph_file, tmp_path, capsys, name):
    out = tmp_path / "m.py"
    assert main(["export", str(graph_file), "-o", str(out), "--class-name", name]) == 1
    assert "[class_name]: the class name must be a Python identifier" in capsys.readouterr().err
    assert not out.exists()


def test_node_ids_reach_the_terminal_with_control_characters_escaped(tmp_path, capsys):
    evil = "x\x1b[2J\x1b[31mred"
    graph = {"name": "g", "nodes": [{"id": evil, "type": "Input", "params": {"shape": [2]}},
                                    {"id": "fc", "type": "Linear", "params": {"out_features": 2}},
                                    {"id": "bad\x1b]0;title\x07", "type": "Nope", "params": {}}],
             "edges": [{"source": evil, "target": "fc"}]}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph))
    assert main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "\x07" not in captured.err
    assert "x\\x1b[2J" in captured.out and "bad\\x1b]0;title\\x07" in captured.err
