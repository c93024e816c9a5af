"""Builder speed: validation time by graph size, and compiled-vs-hand-written training step time.

    .venv/bin/python bench/bench_builder.py [--rounds 80] [--steps 1]

Targets (issue #3): validating a 200-node graph well under 100 ms; a compiled template's
training step (forward + backward + optimizer step) within 3% of the hand-written model's.
The two models of a pair are timed in alternating rounds in one process, so machine noise and
thermal drift hit both alike; the ratio reported is the median of the per-round ratios.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from builder import compile_graph, validate  # noqa: E402
from builder.templates import load_template  # noqa: E402
from tests.reference_models import SeedCNN, SeedLSTM  # noqa: E402

WIDTH = 64


def residual_mlp_graph(n_nodes: int) -> dict:
    """An Input then repeating Linear -> ReLU -> Add(skip) blocks, n_nodes in total."""
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [WIDTH]}}]
    edges = []
    pattern = [("Linear", {"out_features": WIDTH}), ("ReLU", {}), ("Add", {})]
    previous = block_input = "x"
    for i in range(1, n_nodes):
        layer_type, params = pattern[(i - 1) % len(pattern)]
        node_id = f"n{i}"
        nodes.append({"id": node_id, "type": layer_type, "params": params})
        edges.append({"source": previous, "target": node_id, "port": 0})
        if layer_type == "Add":
            edges.append({"source": block_input, "target": node_id, "port": 1})
            block_input = node_id
        previous = node_id
    return {"version": 1, "name": f"residual_mlp_{n_nodes}", "nodes": nodes, "edges": edges,
            "layout": {}}


def step_seconds(action, repeats: int) -> list[float]:
    """CPU time of this process for each of `repeats` calls. On a shared machine wall time also
    counts the waits for a free core; with one torch thread, CPU time is the work itself."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return times


def bench_validation(repeats: int) -> None:
    print(f"validation (graph JSON dict -> Report), median CPU time of {repeats}")
    for n_nodes in (10, 100, 200):
        graph = residual_mlp_graph(n_nodes)
        report = validate(graph)
        assert report.valid, report.problems
        ms = statistics.median(step_seconds(lambda: validate(graph), repeats)) * 1000
        print(f"  {n_nodes:4d} nodes: {ms:7.2f} ms   (target at 200: well under 100 ms)")


def training_step(model: nn.Module, optimizer, x, y) -> None:
    optimizer.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()


def bench_step_ratio(name: str, reference: nn.Module, batch: tuple, rounds: int,
                     steps_per_round: int) -> None:
    compiled = compile_graph(load_template(name))
    reference.load_state_dict(compiled.state_dict())  # same weights, so the same arithmetic
    x, y = torch.randn(*batch), torch.randint(0, 10, (batch[0],))
    runners = {}
    for label, model in (("compiled", compiled), ("hand-written", reference)):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        runners[label] = lambda m=model, o=optimizer: training_step(m, o, x, y)
        runners[label]()  # warm-up: allocator, optimizer state
    times = {label: [] for label in runners}  # mean step time of each round
    for round_index in range(rounds):
        order = list(runners) if round_index % 2 == 0 else list(reversed(runners))
        for label in order:
            times[label].append(statistics.mean(step_seconds(runners[label], steps_per_round)))
    # Each round's pair ran back to back, so its ratio cancels slow drift in the machine's load;
    # the median over rounds then drops the rounds another process disturbed.
    paired = statistics.median(c / h for c, h in zip(times["compiled"], times["hand-written"]))
    compiled_ms, reference_ms = (statistics.median(times[label]) * 1000 for label in runners)
    print(f"  {name:9s} batch {tuple(batch)}: compiled {compiled_ms:6.2f} ms, hand-written "
          f"{reference_ms:6.2f} ms per step; median paired ratio {paired:.3f} (target <= 1.03)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=80, help="alternating timing rounds per pair")
    parser.add_argument("--steps", type=int, default=1, help="training steps per round")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one core: comparable across machines, fair to shared CI boxes
    torch.manual_seed(0)
    bench_validation(repeats=30)
    print(f"training step (forward + backward + Adam), CPU time per step, {args.rounds} "
          f"interleaved rounds of {args.steps} steps, 1 thread")
    bench_step_ratio("cnn_seed", SeedCNN(), (64, 1, 28, 28), args.rounds, args.steps)
    bench_step_ratio("lstm_seed", SeedLSTM(), (32, 20, 100), args.rounds, args.steps)


if __name__ == "__main__":
    main()
