"""How much memory the server process adds for the model evaluations it runs for students (#12).

    .venv/bin/python -m bench.bench_eval_memory

Each scenario runs in a fresh Python process: the model and data are made first, then the
evaluation runs while a thread samples the process's anonymous resident memory (RssAnon: heap
and tensors, not the shared libraries' pages, which come and go with the machine's page cache)
every millisecond. "added" is the highest sample minus the value just before. The unbounded rows repeat what the pages did
before issue #12 (one forward over everything); the bounded rows are what they do now
(trainers.eval_budget, default LAYERLOOM_EVAL_MEMORY_MB=64). Wide-but-accepted models:

- `wide_moons`: Moons with Linear(2 -> 50,000), accepted for training (51 MB at batch 64);
- `wide_conv`: a 28x28 input through Conv2d(3,000 channels) + ReLU, 18 MiB of outputs per
  sample (accepted at batch 8 under LAYERLOOM_MAX_ACTIVATION_MB=512);
- `big_export`: 9.9 M parameters (under the 10 M limit), exported to .pt2 or ONNX in this
  process (`*_in_server`, what Build did before) or through `trainers.export_process` (`*_child`,
  what it does now: the row measures this process, the caller);
- `class_wide`: the load test's wide model (bench/load_wide.py: Linear(2->50,000) ->
  Linear(50,000->100) -> 2, 5.15 M parameters, 10 MFLOP a point): one decision boundary on the
  full 60x60 grid against the grid `eval_budget.boundary_side` allows (CPU seconds: `cpu_s`).
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY: list[int] = []  # refreshes answered "busy" in the class scenario
SCENARIOS = ("boundary_unbounded", "boundary_bounded", "inspect_stats_unbounded",
             "inspect_stats_bounded", "export_pt2_accepted", "class_of_20_boundary",
             "wide_boundary_full_grid", "wide_boundary_budget_grid", "export_onnx_in_server",
             "export_pt2_in_server", "export_pt2_child", "export_onnx_child")


def _graph(kind: str) -> dict:
    if kind == "class_wide":
        from bench.load_wide import wide_graph
        return wide_graph()
    if kind == "wide_moons":
        nodes = [("x", "Input", {"shape": [2]}), ("wide", "Linear", {"out_features": 50_000}),
                 ("act", "ReLU", {}), ("out", "Linear", {"out_features": 2})]
    elif kind == "wide_conv":
        nodes = [("x", "Input", {"shape": [1, 28, 28]}),
                 ("conv", "Conv2d", {"out_channels": 3_000, "kernel_size": 3, "padding": 1}),
                 ("act", "ReLU", {}), ("pool", "AdaptiveAvgPool2d", {"output_size": 1}),
                 ("flat", "Flatten", {}), ("out", "Linear", {"out_features": 10})]
    else:  # big_export: 2 -> 3,000 -> 3,000 -> 300 ... ~9.9 M parameters
        nodes = [("x", "Input", {"shape": [2]}), ("a", "Linear", {"out_features": 3_000}),
                 ("b", "Linear", {"out_features": 3_000}), ("c", "Linear", {"out_features": 300}),
                 ("d", "Linear", {"out_features": 2})]
    return {"name": kind, "nodes": [{"id": i, "type": t, "params": p} for i, t, p in nodes],
            "edges": [{"source": a[0], "target": b[0]} for a, b in zip(nodes, nodes[1:])]}


def _status(field: str) -> int:
    """A /proc/self/status size in bytes (RssAnon, VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def run_one(name: str) -> dict:
    import tempfile

    import torch

    from builder import compile_graph
    from builder.export import export_onnx, export_pt2
    from trainers import probes
    from trainers.eval_budget import boundary_side, guard, rows_that_fit
    from trainers.export_process import export_in_process
    from trainers.limits import MB, Limits

    torch.set_num_threads(1)
    grid = torch.rand(3_600, 2)
    images = torch.rand(128, 1, 28, 28)
    model = compile_graph(_graph("wide_conv" if "inspect" in name else
                                 "big_export" if "export" in name else
                                 "class_wide" if name.startswith("wide_") else "wide_moons")).eval()
    child_limits = {"max_params": Limits().max_params, "memory_mb": Limits().run_memory_mb,
                    "max_activation_bytes": Limits().max_activation_mb * MB}
    models = [compile_graph(_graph("wide_moons")).eval() for _ in range(20)] if "class" in name else []
    work = {
        "boundary_unbounded": lambda: model(grid).argmax(1),
        "boundary_bounded": lambda: probes.predict_proba(guard(model), grid).argmax(1),
        "inspect_stats_unbounded": lambda: probes.activation_stats(model, (images,)),
        "inspect_stats_bounded": lambda: probes.activation_stats(
            guard(model), (images[:rows_that_fit(model, 128)],)),
        "export_pt2_accepted": lambda: export_pt2(
            model.graph, Path(tempfile.mkdtemp()) / "m.pt2", max_params=Limits().max_params,
            max_activation_bytes=Limits().max_activation_mb * MB),
        "class_of_20_boundary": lambda: _all_at_once(
            [lambda m=m: probes.predict_proba(m, grid) for m in map(guard, models)]),
        "export_pt2_child": lambda: export_in_process(
            "pt2", model.graph.to_dict(), Path(tempfile.mkdtemp()) / "m.pt2", **child_limits),
        "export_onnx_child": lambda: export_in_process(
            "onnx", model.graph.to_dict(), Path(tempfile.mkdtemp()) / "m.onnx", **child_limits),
        "export_onnx_in_server": lambda: export_onnx(model.graph, Path(tempfile.mkdtemp()) / "m.onnx"),
        "export_pt2_in_server": lambda: export_pt2(model.graph, Path(tempfile.mkdtemp()) / "m.pt2"),
        "wide_boundary_full_grid": lambda: probes.predict_proba(guard(model), grid),
        "wide_boundary_budget_grid": lambda: probes.predict_proba(
            guard(model), grid[:boundary_side(model) ** 2]),
    }[name]
    before = _status("RssAnon")
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.wait(0.001):
            peak[0] = max(peak[0], _status("RssAnon"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu_started = time.perf_counter(), time.thread_time()  # torch: 1 thread, this one
    with torch.no_grad():
        work()
    seconds, cpu_s = time.perf_counter() - started, time.thread_time() - cpu_started
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _status("RssAnon"))
    return {"scenario": name, "params": sum(p.numel() for p in model.parameters()),
            "anon_before_mib": round(before / MB), "added_mib": round((peak[0] - before) / MB),
            "seconds": round(seconds, 2), "cpu_s": round(cpu_s, 2), "answered_busy": len(BUSY)}


def _all_at_once(jobs) -> None:
    """Every student's refresh at the same moment, as Streamlit runs each session in a thread;
    a refresh told "busy, try again" (EvalTooLarge after SLOT_WAIT_S) counts as answered."""
    from trainers.eval_budget import EvalTooLarge

    def answered(job):
        try:
            job()
        except EvalTooLarge:
            BUSY.append(1)

    threads = [threading.Thread(target=answered, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(run_one(sys.argv[2])))
        return
    rows = []
    for name in sys.argv[1:] or SCENARIOS:
        out = subprocess.run([sys.executable, "-m", "bench.bench_eval_memory", "--one", name],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
