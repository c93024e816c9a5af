"""Training speed: the Trainer with live metrics on vs a minimal plain-PyTorch loop, and the time
the digits MLP takes to reach 96% test accuracy.

    .venv/bin/python bench/bench_training.py [--rounds 7] [--epochs 10] [--threads 1]

1. Throughput: the same compiled model (mlp_digits, cnn_seed), the same data already in memory,
   the same optimizer, batch size and epochs. The plain loop is the fastest honest loop: shuffle
   by index, forward, loss, backward, step; measured without and with the per-epoch validation
   loss/accuracy any loop that draws validation curves must compute. The Trainer runs exactly as
   a job does: a real RunControl checked every batch, every default callback (gradient norms,
   health checks, weights snapshots, early stopping) and every event folded into a
   MetricsHistory. Rounds rotate which loop goes first; the best round of each counts. Times are CPU seconds of this process
   (one torch thread): on a machine shared with other work, wall time mostly measures the
   neighbours. Target: trainer >= 95% of the plain loop with validation.
2. Time to 96%: mlp_digits (lr 1e-2, batch 32) from a fresh model, wall seconds of training
   until the first epoch whose model scores >= 96% on the test split (scoring time excluded).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from builder import compile_graph  # noqa: E402
from builder.templates import load_template  # noqa: E402
from trainers.callbacks import Callback  # noqa: E402
from trainers.config import default_config  # noqa: E402
from trainers.control import RunControl  # noqa: E402
from trainers.datasets import load_dataset  # noqa: E402
from trainers.loop import Trainer, default_callbacks, warm_up  # noqa: E402
from trainers.metrics import MetricsHistory  # noqa: E402

CASES = [("mlp_digits", "digits", {}), ("cnn_seed", "shapes", {"n_samples": 600})]


def fresh_model(template: str):
    torch.manual_seed(0)
    return compile_graph(load_template(template))


def plain_loop(template, bundle, config, validate: bool) -> float:
    """Samples per second (per CPU second) of the minimal loop, with or without the per-epoch
    validation loss and accuracy that a loop drawing validation curves computes."""
    model = fresh_model(template)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    x_all, y_all = bundle.x_train, bundle.y_train
    started = time.process_time()
    for _ in range(config.epochs):
        order = torch.randperm(len(x_all))
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            loss = F.cross_entropy(model(x_all[batch]), y_all[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if validate:
            with torch.no_grad():
                model.eval()
                logits = model(bundle.x_val)
                F.cross_entropy(logits, bundle.y_val).item(), (logits.argmax(1) == bundle.y_val).float().mean().item()
                model.train()
    return config.epochs * len(x_all) / (time.process_time() - started)


def trainer_loop(template, bundle, config) -> float:
    """Samples per CPU second of the Trainer, live metrics on, everything a job does."""
    history = MetricsHistory()
    trainer = Trainer(fresh_model(template), bundle, config, default_callbacks(history.apply))
    started = time.process_time()
    trainer.fit(RunControl.for_thread())
    return config.epochs * len(bundle.x_train) / (time.process_time() - started)


LOOPS = {"plain": lambda *a: plain_loop(*a, validate=False),
         "plain+val": lambda *a: plain_loop(*a, validate=True),
         "trainer": trainer_loop}


def throughput(rounds: int, epochs: int) -> None:
    print("throughput, samples per CPU second (best round: load from other work only slows a "
          "round down)")
    for template, dataset, options in CASES:
        bundle = load_dataset(dataset, seed=0, **options)
        config = default_config("classification", epochs=epochs, batch_size=64)
        results = {name: [] for name in LOOPS}
        names = list(LOOPS)
        for index in range(rounds):
            for name in names[index % 3:] + names[:index % 3]:  # rotate who goes first
                results[name].append(LOOPS[name](template, bundle, config))
        best = {name: max(values) for name, values in results.items()}
        print(f"  {template:<11} plain {best['plain']:>8.0f}   plain+val {best['plain+val']:>8.0f}"
              f"   trainer {best['trainer']:>8.0f}   trainer / plain+val "
              f"{best['trainer'] / best['plain+val']:6.1%}   trainer / plain "
              f"{best['trainer'] / best['plain']:6.1%}   (target >= 95%)")


class StopAt96(Callback):
    """Scores the test split after each epoch (time kept apart) and stops at 96%."""

    def __init__(self):
        self.scoring_s = 0.0

    def on_epoch_end(self, trainer, record):
        started = time.perf_counter()
        _, accuracy = trainer.evaluate("test")
        self.scoring_s += time.perf_counter() - started
        if accuracy >= 0.96:
            trainer.stop("finished", f"{accuracy:.1%} at epoch {record['epoch']}")


def time_to_96() -> None:
    bundle = load_dataset("digits", seed=0)
    config = default_config("classification", epochs=40, lr=1e-2, batch_size=32)
    judge = StopAt96()
    trainer = Trainer(fresh_model("mlp_digits"), bundle, config,
                      [*default_callbacks(MetricsHistory().apply), judge])
    started = time.perf_counter()
    result = trainer.fit()
    seconds = time.perf_counter() - started - judge.scoring_s
    print(f"time to 96% test accuracy, mlp_digits on digits: {seconds:.2f} s "
          f"({result['message'] or 'not reached in 40 epochs'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warm_up()
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.rounds} rounds x "
          f"{args.epochs} epochs")
    throughput(args.rounds, args.epochs)
    time_to_96()


if __name__ == "__main__":
    main()
