"""Issue #12: Build's ONNX / .pt2 export runs in a capped process of its own, so tracing a large
model never grows the server (it added 164-253 MB per export there, bench/README-load.md)."""
import os

import torch

from builder.templates import load_template
from tests.test_eval_budget import wide_moons_graph
from trainers.export_process import export_in_process

LIMITS = {"max_params": 10_000_000, "max_activation_bytes": 512 * 2**20, "memory_mb": 1536}


def test_the_export_is_written_by_another_process_and_loads_back(tmp_path, monkeypatch):
    path = tmp_path / "m.pt2"
    graph = load_template("mlp_digits").to_dict()
    calls = []
    monkeypatch.setattr("builder.export.export_pt2", lambda *a, **k: calls.append(os.getpid()))
    assert export_in_process("pt2", graph, path, **LIMITS) is None
    assert calls == []  # not this process's exporter: the child's
    program = torch.export.load(str(path)).module()
    assert program(torch.rand(3, 1, 8, 8)).shape == (3, 10)


def test_an_export_over_the_limits_is_refused_with_the_exporters_message(tmp_path):
    answer = export_in_process("onnx", wide_moons_graph(width=50_000), tmp_path / "m.onnx",
                               **{**LIMITS, "max_params": 1_000})
    assert "the limit here is 1,000" in answer
    assert not (tmp_path / "m.onnx").exists()


def test_an_export_past_the_memory_cap_fails_in_its_process_with_a_message(tmp_path):
    answer = export_in_process("pt2", wide_moons_graph(width=1_500_000), tmp_path / "m.pt2",
                               **{**LIMITS, "memory_mb": 8})  # 6 M parameters: 24 MB of weights
    assert "8 MB an export may use" in answer or "ended unexpectedly" in answer
    assert not (tmp_path / "m.pt2").exists()
