"""Headless training: `python -m trainers train GRAPH.json --dataset NAME ...` and
`python -m trainers datasets`.

`train` prints one line per epoch (and any alert), then ends with one JSON line of final metrics, e.g. {"test_accuracy": 0.97, "test_loss": 0.1, "epochs": 20,
"seconds": 1.2, "status": "finished"}. Ctrl-C stops after the current batch and still reports.
Bad input (graph, dataset, settings) prints `error: ...` and exits with status 2; a failure inside
training prints its message and exits with 1; never a traceback.
The model limits of a shared server (LAYERLOOM_MAX_PARAMS, LAYERLOOM_MAX_ACTIVATION_MB) apply here
too, checked before anything is allocated; `--no-limits` lifts them on one's own machine.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from builder import GraphError, load_graph, validate
from builder.naming import printable
from trainers.checkpoints import CheckpointError
from trainers.config import TASKS, ConfigError, RunSpec, default_config
from trainers.datasets import DatasetError, dataset_info, list_datasets
from trainers.devices import DeviceError
from trainers.limits import Limits, LimitsError
from trainers.loop import ENDED_BADLY, TrainingError, train_run
from trainers.metrics import MetricsHistory

USER_ERRORS = (GraphError, DatasetError, ConfigError, DeviceError, TrainingError, CheckpointError,
               LimitsError, OSError)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.command(args)
    except USER_ERRORS as err:
        print(printable(f"error: {err}"), file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a failure inside training: its message, no traceback
        print(printable(f"error: training failed: {type(err).__name__}: {err}"), file=sys.stderr)
        return 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m trainers", description=__doc__.split("\n")[0])
    commands = top.add_subparsers(required=True, metavar="COMMAND")
    listing = commands.add_parser("datasets", help="list the dataset catalog")
    listing.set_defaults(command=list_command)
    train = commands.add_parser("train", help="train a graph JSON file on a dataset")
    train.set_defaults(command=train_command)
    train.add_argument("graph", type=Path, help="the graph JSON file")
    train.add_argument("--dataset", required=True, help="a catalog name (see: datasets)")
    train.add_argument("--task", choices=TASKS, help="default: the dataset's own task")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float)
    train.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop"])
    train.add_argument("--scheduler", choices=["none", "step", "cosine", "onecycle"])
    train.add_argument("--device", help="cpu, cuda:0, mps")
    train.add_argument("--seed", type=int)
    train.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="a dataset option, e.g. --option noise=0.3 (repeatable)")
    train.add_argument("--metrics-out", type=Path, help="write the per-epoch metrics CSV here")
    train.add_argument("--save-dir", type=Path,
                       help="save weights (safetensors), graph, settings and metrics here")
    train.add_argument("--no-limits", action="store_true",
                       help="lift the model limits a shared server applies (on your own machine)")
    return top


def list_command(args) -> int:
    for info in list_datasets():
        classes = f"{info.num_classes} classes" if info.num_classes else info.task
        online = "  [needs internet]" if info.online_only else ""
        print(f"{info.name:<14} {info.task:<15} input {list(info.input_shape)!s:<14} "
              f"{classes:<12} {info.description}{online}")
    return 0


def train_command(args) -> int:
    graph = load_graph(args.graph).to_dict()
    task = args.task or dataset_info(args.dataset).task
    chosen = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
              "optimizer": args.optimizer, "scheduler": args.scheduler, "device": args.device,
              "seed": args.seed}
    config = default_config(task, **{k: v for k, v in chosen.items() if v is not None})
    spec = RunSpec(graph=graph, dataset=args.dataset, config=config,
                   dataset_options=dict(parse_option(text) for text in args.option))
    if not args.no_limits:
        check_model_limits(graph, config.batch_size)
    history = MetricsHistory()
    printer = ProgressPrinter(config.epochs)

    def emit(event: dict) -> None:
        history.apply(event)
        printer(event)

    control = InterruptControl()
    with control.ctrl_c_stops():
        result = train_run(spec, control, emit, save_dir=args.save_dir)
    if args.metrics_out:
        args.metrics_out.write_text(history.to_csv())
    print(json.dumps(final_line(result)))
    return 1 if result["status"] in ENDED_BADLY else 0


def check_model_limits(graph: dict, batch_size: int) -> None:
    """The server's parameter and activation limits, judged by shape inference (sample-epochs
    stay the user's own business here). ConfigError naming each, and how to lift them."""
    reasons = Limits.from_env().check_run(validate(graph), dataset_size=0, epochs=0,
                                          batch_size=batch_size)
    if reasons:
        raise ConfigError(" ".join(reasons) + " On your own machine, --no-limits lifts the limits.")


def parse_option(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"--option {text!r}: write it as KEY=VALUE, e.g. noise=0.3")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw  # a plain word, e.g. --option kind=spiral


def final_line(result: dict) -> dict:
    metric = result["metric"]
    line = {f"test_{metric}": result["test_metric"]} if metric and result["test_loss"] is not None else {}
    return {**line, "test_loss": result["test_loss"], "epochs": result["epochs"],
            "seconds": result["seconds"], "status": result["status"]}


class ProgressPrinter:
    """One line per epoch and per alert, and the reason when a run ends early."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def __call__(self, event: dict) -> None:
        kind = event["kind"]
        if kind == "epoch":
            metric = event.get("metric")
            parts = [f"epoch {event['epoch']}/{self.epochs}", f"train loss {event['train_loss']:.4f}"]
            if event["val_loss"] is not None:
                parts.append(f"val loss {event['val_loss']:.4f}")
            if metric and event["val_metric"] is not None:
                parts.append(f"val {metric} {event['val_metric']:.4f}")
            parts.append(f"{event['seconds']:.1f} s")
            print("  ".join(parts), flush=True)
        elif kind == "alert":
            print(f"! {event['message']} Try: {event['advice']}", flush=True)
        elif kind == "done" and event["result"]["message"]:
            print(event["result"]["message"], flush=True)


class InterruptControl:
    """A RunControl for the terminal: Ctrl-C asks for a cooperative stop; no pausing."""

    def __init__(self):
        self.stop_requested = False

    def should_stop(self) -> bool:
        return self.stop_requested

    def checkpoint_pause(self) -> None:
        return None

    @contextmanager
    def ctrl_c_stops(self):
        def request_stop(signum, frame):
            self.stop_requested = True

        previous = signal.signal(signal.SIGINT, request_stop)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
