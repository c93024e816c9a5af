"""GPU memory: trainers.gpu's estimate from shape inference against the real peak, per template.

    python3 bench/gpu_memory.py [--device cuda:0] [--batch 256]

Each template trains one epoch on its dataset through the real `train_run`; the peak is
torch.cuda.max_memory_allocated (tensors only: the CUDA context, which the job manager counts
apart, is not in it). The estimate should be above the peak (it decides whether a run may
start) without being far above it (or it would keep a class's runs waiting for nothing). On a
CPU the estimates alone are printed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from builder import validate  # noqa: E402
from builder.templates import list_templates, load_template  # noqa: E402
from trainers.config import RunSpec, default_config  # noqa: E402
from trainers.datasets import load_dataset  # noqa: E402
from trainers.gpu import estimate_gpu_bytes  # noqa: E402
from trainers.loop import train_run  # noqa: E402

MIB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda:0" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    on_gpu = args.device.startswith("cuda")
    print(f"{'template':<18} {'estimate MiB':>12} {'peak MiB':>9} {'estimate / peak':>16}")
    for template in list_templates():
        config = default_config(template.task, epochs=1, batch_size=args.batch, device=args.device)
        graph = load_template(template.name).to_dict()
        bundle = load_dataset(template.dataset, seed=0)
        data = sum(getattr(bundle, f"{part}_{split}").nbytes for part in ("x", "y")
                   for split in ("train", "val", "test"))
        estimate = estimate_gpu_bytes(validate(graph), config, data, context=False)
        peak_text, ratio = "n/a", ""
        if on_gpu:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(args.device)
            train_run(RunSpec(graph=graph, dataset=template.dataset, config=config), None,
                      lambda event: None)
            peak = torch.cuda.max_memory_allocated(args.device)
            peak_text, ratio = f"{peak / MIB:9.1f}", f"{estimate / max(peak, 1):16.2f}"
        print(f"{template.name:<18} {estimate / MIB:12.1f} {peak_text:>9} {ratio}", flush=True)


if __name__ == "__main__":
    main()
