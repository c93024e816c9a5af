"""Dataset generation speed: every offline set at its default size, and `shapes` drawn
vectorised against one image at a time (the obvious loop), side by side in one run.

    .venv/bin/python bench/bench_datasets.py [--rounds 3]

Target (issue #4): a few thousand `shapes` images in well under a second; any offline set ready
before a student has finished reading its description. Times are the best of `rounds`.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from trainers.datasets import list_datasets, load_dataset  # noqa: E402
from trainers.datasets.images import draw_shapes  # noqa: E402


def best_of(rounds: int, work) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def shapes_one_at_a_time(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same drawing called per image: what vectorising saves."""
    return np.concatenate([draw_shapes(labels[i:i + 1], 28, 0.1, rng) for i in range(len(labels))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    torch.set_num_threads(1)
    print(f"{'dataset':<12}{'examples':>10}{'load ms':>10}")
    for info in list_datasets(include_online=False):
        bundle = load_dataset(info.name)
        examples = len(bundle.y_train) + len(bundle.y_val) + len(bundle.y_test)
        seconds = best_of(rounds, lambda: load_dataset(info.name))
        print(f"{info.name:<12}{examples:>10,}{seconds * 1000:>10.1f}")
    labels = np.arange(3000) % 10
    batched = best_of(rounds, lambda: draw_shapes(labels, 28, 0.1, np.random.default_rng(0)))
    looped = best_of(rounds, lambda: shapes_one_at_a_time(labels, np.random.default_rng(0)))
    print(f"\nshapes, 3,000 images of 28x28: vectorised {batched * 1000:.0f} ms, one at a time "
          f"{looped * 1000:.0f} ms: {looped / batched:.1f}x faster (target: well under 1 s)")


if __name__ == "__main__":
    main()
