"""Inspect page probes: the time to probe one sample, for every template, on the CPU.

    .venv/bin/python bench/bench_probes.py [--repeats 5] [--threads 1]

Per template, the median over `--repeats` of each probe the Inspect page runs for one test
example: the prediction, the feature maps of every layer with 2-D maps (the page shows one at a
time; this is the worst case), the attention maps, the input saliency, and the activation
statistics over the page's batch of test examples. "total" is their sum. Target (issue #7): well
under 1 s per template. Weights are fresh (random), which costs the same as trained ones.
One thread by default: on a shared classroom server each session gets about one core.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from builder import compile_graph  # noqa: E402
from builder.export import example_inputs  # noqa: E402
from builder.templates import list_templates, load_template  # noqa: E402
from trainers import probes  # noqa: E402
from ui.inspect_views import STATS_BATCH  # noqa: E402

COLUMNS = ("prediction", "feature maps", "attention", "saliency", "activation stats")


def spatial_nodes(model) -> list[str]:
    """The layers the Feature maps view can step through: (C, H, W) outputs."""
    return [node for node, info in model.report.nodes.items()
            if info.output_shape and len(info.output_shape) == 3 and node not in model.input_ids]


@torch.no_grad()
def predict(model, sample: tuple, task: str):
    """What the Prediction tab computes: class probabilities, else the raw output."""
    if task == "classification":
        return probes.predict_proba(model, sample[0])
    return model(*sample)


def probe_steps(model, batch: tuple, task: str) -> dict:
    """Each probe of one sample as a no-argument callable; None where the view does not apply."""
    sample = tuple(x[:1] for x in batch)
    nodes = spatial_nodes(model)
    attends = any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules())
    return {
        "prediction": lambda: predict(model, sample, task),
        "feature maps": (lambda: [probes.feature_maps(model, sample, n) for n in nodes]) if nodes else None,
        "attention": (lambda: probes.attention_maps(model, sample)) if attends else None,
        "saliency": (lambda: probes.saliency(model, sample[0])) if task == "classification" else None,
        "activation stats": lambda: probes.activation_stats(model, batch),
    }


def median_ms(step, repeats: int) -> float:
    step()  # warm-up: first calls allocate
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"median of {args.repeats}, {torch.get_num_threads()} CPU thread(s), ms; "
          f"activation stats over {STATS_BATCH} examples; '-' = view not shown for this model")
    print(f"{'template':<20}" + "".join(f"{c:>18}" for c in COLUMNS) + f"{'total':>10}")
    for info in list_templates():
        graph = load_template(info.name)
        model = compile_graph(graph).eval()
        steps = probe_steps(model, example_inputs(graph, model, batch=STATS_BATCH), info.task)
        cells = {name: median_ms(step, args.repeats) for name, step in steps.items() if step}
        row = "".join(f"{cells[c]:>18.1f}" if c in cells else f"{'-':>18}" for c in COLUMNS)
        print(f"{info.name:<20}{row}{sum(cells.values()):>10.1f}")


if __name__ == "__main__":
    main()
