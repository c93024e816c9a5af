"""Thread vs process workers, side by side in one run: start latency and training throughput.

    .venv/bin/python -m bench.bench_workers [--rounds 2]

1. Start latency, submit -> the first event of a stand-in run that emits after one training
   step: a thread, a process forked from the warm fork server, and a cold spawned process (what
   the fork server avoids: spawn, `import torch`, torch's lazy imports on the first optimizer).
2. Throughput of real runs (trainers.loop.train_run): the digits MLP (Python-overhead bound) and
   the shapes CNN (arithmetic bound), as 1 and 2 concurrent jobs with 1 and 2 torch threads per
   job. Every configuration runs `--rounds` times, interleaved; the median total samples/s is
   printed with the process/thread ratio.
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time

import torch
from torch import nn

from builder.templates import load_template
from trainers.config import RunSpec, TrainConfig
from trainers.jobs import JobManager
from trainers.limits import Limits
from trainers.process_worker import ProcessHandle

FIRST_STEP_FN = "bench.bench_workers:first_step_then_stop"
WORKLOADS = {  # name: (template, dataset, epochs) sized for about 2 s of training each
    "mlp digits": ("mlp_digits", "digits", 12),
    "cnn shapes": ("cnn_seed", "shapes", 1),
}


def first_step_then_stop(spec, control, emit):
    """The worker protocol, reduced to one real training step and its event."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters())
    control.checkpoint_pause()
    nn.functional.cross_entropy(model(torch.rand(64, 1, 8, 8)), torch.randint(0, 10, (64,))).backward()
    optimizer.step()
    emit({"kind": "step", "step": 1, "epoch": 1, "loss": 0.0, "lr": 1e-3, "samples_per_s": None})
    emit({"kind": "done", "result": {}})


def warm_manager(worker: str, jobs: int = 1, threads: int = 1, run_fn: str = FIRST_STEP_FN):
    made = JobManager(Limits(max_jobs=jobs, threads_per_job=threads), run_fn=run_fn, worker=worker)
    assert made.wait_warm(120), "process workers did not warm up"
    return made


def start_latency(made: JobManager) -> float:
    started = time.perf_counter()
    job = made.submit(RunSpec(graph={}, dataset="none"), owner="bench")
    while job.progress().step < 1 and not job.ended:
        time.sleep(0.0005)
    latency = time.perf_counter() - started
    assert job.wait(30) and job.status == "finished", job.error
    return latency


def cold_start_latency() -> float:
    """What every job would pay without the fork server."""
    first_step, ended = threading.Event(), threading.Event()
    started = time.perf_counter()
    ProcessHandle(multiprocessing.get_context("spawn"), FIRST_STEP_FN, RunSpec(graph={}, dataset="none"),
                  lambda event: event["kind"] == "step" and first_step.set(),
                  lambda error: ended.set(), threads=1, memory_mb=1536, stop_grace_s=3.0)
    first_step.wait(120)
    latency = time.perf_counter() - started
    ended.wait(60)
    return latency


def throughput(made: JobManager, workload: str, jobs: int) -> float:
    """Total training samples/s of `jobs` concurrent real runs (each one's steps x batch / time)."""
    template, dataset, epochs = WORKLOADS[workload]
    config = TrainConfig(epochs=epochs)
    spec = RunSpec(graph=load_template(template).to_dict(), dataset=dataset, config=config)
    submitted = [made.submit(spec, owner=f"student{i}") for i in range(jobs)]
    for job in submitted:
        assert job.wait(600) and job.status == "finished", job.error
    return sum(job.result["steps"] * config.batch_size / job.result["seconds"] for job in submitted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved repeats per config")
    args = parser.parse_args()
    torch.set_num_threads(1)

    print("start latency, submit -> first step event (median of 5):")
    for worker in ("thread", "process"):
        made = warm_manager(worker)
        latencies = [start_latency(made) for _ in range(5)]
        made.shutdown()
        label = "process (fork server)" if worker == "process" else "thread"
        print(f"  {label:24s}{statistics.median(latencies) * 1000:8.1f} ms")
    print(f"  {'process (cold spawn)':24s}{cold_start_latency() * 1000:8.1f} ms")

    configs = [(worker, jobs, threads) for jobs in (1, 2) for threads in (1, 2)
               for worker in ("thread", "process")]
    for workload in WORKLOADS:
        results = {config: [] for config in configs}
        for _ in range(args.rounds):
            for config in configs:
                made = warm_manager(*config, run_fn="trainers.loop:train_run")
                results[config].append(throughput(made, workload, config[1]))
                made.shutdown()
        print(f"\n{workload}: total samples/s, median of {args.rounds} (process / thread)")
        for jobs in (1, 2):
            for threads in (1, 2):
                t = statistics.median(results[("thread", jobs, threads)])
                p = statistics.median(results[("process", jobs, threads)])
                print(f"  {jobs} job(s) x {threads} thread(s):  thread {t:8,.0f}   process {p:8,.0f}"
                      f"   ratio {p / t:5.2f}")


if __name__ == "__main__":
    main()
