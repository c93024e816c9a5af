"""Process workers: a crash, an out-of-memory or a run that ignores stop ends only its own job.

The stand-in run functions below follow the worker protocol (`train_run(spec, control, emit)`)
and are imported by name in the worker processes; tests/test_jobs.py reuses them in threads.
"""
import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import types
import weakref

import pytest
import torch

from trainers.config import RunSpec, TrainConfig
from trainers.control import RunControl
from trainers.jobs import JobManager
from trainers.limits import Limits
from trainers.process_worker import JOB_NICENESS

TINY_GRAPH = {"name": "stand-in", "nodes": [], "edges": []}


def spec(epochs: int = 1, **behaviour) -> RunSpec:
    """A run of the stand-in: `behaviour` says how many steps, how slow, and how it misbehaves."""
    return RunSpec(graph=TINY_GRAPH, dataset="stand-in", dataset_options=behaviour,
                   config=TrainConfig(epochs=epochs))


def fake_train(spec, control, emit):
    """Steps like a real loop: checks control once per batch, streams steps, epochs, weights."""
    opts = spec.dataset_options
    steps, lr, step = opts.get("steps", 10), spec.config.lr, 0
    for step in range(1, steps * spec.config.epochs + 1):
        changes = control.checkpoint_pause()
        if changes:
            lr = changes.get("lr", lr)
            emit({"kind": "config_changed", "step": step, "changes": changes})
        if control.should_stop():
            break
        if step == opts.get("fail_at"):
            misbehave(opts["fail"])
        time.sleep(opts.get("batch_s", 0.005))
        emit({"kind": "step", "step": step, "epoch": (step - 1) // steps, "loss": 1 / step,
              "lr": lr, "samples_per_s": 100.0, "total_steps": steps * spec.config.epochs})
        if step % steps == 0:
            emit({"kind": "epoch", "epoch": step // steps, "train_loss": 1 / step,
                  "val_loss": 1 / step, "train_metric": 0.5, "val_metric": 0.5, "lr": lr,
                  "grad_norms": {"fc": 1.0}})
            emit({"kind": "weights", "state": {"fc.weight": torch.full((2, 2), float(step))}})
    emit({"kind": "done", "result": {"steps": step, "lr": lr}})


def report_niceness(spec, control, emit):
    emit({"kind": "done", "result": {"niceness": os.nice(0)}})


def ignore_stop(spec, control, emit):
    """A run stuck in one long batch: only a hard stop ends it."""
    emit({"kind": "step", "step": 1, "epoch": 0, "loss": 1.0, "lr": 0.1, "samples_per_s": 1.0})
    time.sleep(600)


def misbehave(how: str):
    if how == "raise":
        raise ValueError("mat1 and mat2 shapes cannot be multiplied (4x3 and 5x2)")
    if how == "exit":
        os._exit(3)
    if how == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if how == "memory":
        torch.ones(4 * 1024**3, dtype=torch.uint8)  # 4 GB, far beyond the test cap


@pytest.fixture(scope="module")
def manager():
    limits = Limits(max_jobs=2, run_memory_mb=512, stop_grace_s=1.0, runs_per_session=50)
    manager = JobManager(limits, run_fn="tests.test_workers:fake_train", worker="process")
    assert manager.wait_warm(120), "the warm pool did not come up"
    yield manager
    assert manager.shutdown()


@pytest.mark.parametrize("how, message", [
    ("exit", "ended unexpectedly (exit code 3)"),
    ("segfault", "ended unexpectedly (signal SIGSEGV)"),
    ("memory", "ran out of memory (this server caps a run at 512 MB)"),
    ("raise", "ValueError: mat1 and mat2 shapes cannot be multiplied"),
])
def test_a_crashing_run_fails_alone_and_the_server_serves_on(manager, how, message):
    healthy = manager.submit(spec(steps=30, batch_s=0.01), owner="bob")
    crashing = manager.submit(spec(steps=30, fail_at=3, fail=how), owner="alice")
    assert crashing.wait(60) and healthy.wait(60)
    assert crashing.status == "failed" and message in crashing.error
    assert healthy.status == "finished", healthy.error
    assert healthy.result["steps"] == 30


def test_events_cross_the_process_boundary_with_weights_intact(manager):
    job = manager.submit(spec(epochs=2, steps=5), owner="alice")
    assert job.wait(60) and job.status == "finished", job.error
    snap = job.metrics()
    assert [row["epoch"] for row in snap.epochs] == [1, 2]
    assert len(snap.steps) == 10 and snap.grad_norms[-1] == {"fc": 1.0}
    assert torch.equal(job.weights()["fc.weight"], torch.full((2, 2), 10.0))
    assert job.progress().fraction == 1.0 and job.progress().epoch == 2


def test_pause_resume_with_changes_and_stop_in_a_process(manager):
    job = manager.submit(spec(steps=2000, batch_s=0.002), owner="carol")
    wait_until(lambda: job.progress().step >= 3)
    job.pause()
    time.sleep(0.3)
    paused_at = job.progress().step
    time.sleep(0.3)
    assert job.status == "paused" and job.progress().step <= paused_at + 1
    job.resume({"lr": 0.5})
    wait_until(lambda: job.progress().step > paused_at + 5)
    job.stop()
    assert job.wait(10) and job.status == "stopped"
    assert job.result["lr"] == 0.5
    assert [e["changes"] for e in job.metrics().events if e["kind"] == "config_changed"] == [{"lr": 0.5}]


def test_a_run_that_ignores_stop_is_killed_after_the_grace_period_and_nothing_leaks():
    processes_before, threads_before = set(multiprocessing.active_children()), set(threading.enumerate())
    limits = Limits(max_jobs=1, stop_grace_s=0.5)
    manager = JobManager(limits, run_fn="tests.test_workers:ignore_stop", worker="process")
    try:
        job = manager.submit(spec(), owner="dave")
        queued = manager.submit(spec(), owner="dave")
        wait_until(lambda: job.progress().step == 1, timeout=60)
        started = time.monotonic()
        job.stop()
        assert job.wait(10) and job.status == "stopped"
        assert time.monotonic() - started < 3
    finally:
        assert manager.shutdown()
    assert queued.status == "stopped"  # it had started in the freed slot; shutdown killed it too
    assert set(multiprocessing.active_children()) - processes_before == set()
    assert set(threading.enumerate()) - threads_before == set()


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_a_real_run_of_the_digits_template_in_a_process_gives_a_working_model():
    from builder.templates import load_template
    from trainers.datasets import load_dataset

    manager = JobManager(Limits(max_jobs=1), worker="process")  # the real trainers.loop:train_run
    try:
        graph = load_template("mlp_digits").to_dict()
        job = manager.submit(RunSpec(graph=graph, dataset="digits", config=TrainConfig(epochs=3)),
                             owner="alice")
        assert job.wait(120) and job.status == "finished", job.error
        assert job.result["test_metric"] > 0.5 and job.progress().fraction == 1.0
        model = job.model_snapshot()
        assert not model.training
        test = load_dataset("digits", seed=0)
        accuracy = (model(test.x_test).argmax(1) == test.y_test).float().mean().item()
        assert abs(accuracy - job.result["test_metric"]) < 1e-6
    finally:
        assert manager.shutdown()


def test_a_worker_whose_server_is_gone_stops_by_itself():
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer exists, as the server's is once it died
    ctx = multiprocessing.get_context("spawn")
    alive, orphan = RunControl.for_process(ctx), RunControl.for_process(ctx)
    orphan._owner_pid = gone.pid
    assert not alive.should_stop()
    assert orphan.should_stop() and orphan.checkpoint_pause() is None


def test_a_closed_tab_ends_its_process_and_nothing_keeps_the_run_in_memory(manager):
    workers_before = set(multiprocessing.active_children())
    job = manager.submit(spec(steps=100_000, batch_s=0.01), owner="closed-tab")
    wait_until(lambda: job.progress().step >= 1)
    assert len(set(multiprocessing.active_children()) - workers_before) == 1
    started = time.monotonic()
    assert manager.end_owner("closed-tab")
    assert time.monotonic() - started < 3 and job.status == "stopped"
    assert set(multiprocessing.active_children()) - workers_before == set()
    assert manager.jobs_for("closed-tab") == []
    collected = weakref.ref(job)
    del job
    gc.collect()
    assert collected() is None  # its metrics and weights went with it


def test_a_job_process_yields_the_cpu_to_the_server():
    """A class's clicks must not wait behind training that fills every core."""
    manager = JobManager(Limits(), run_fn="tests.test_workers:report_niceness", worker="process")
    job = manager.submit(spec(), owner="alice")
    assert job.wait(60) and job.status == "finished", job.error
    assert manager.shutdown()
    assert job.result["niceness"] == min(19, os.nice(0) + JOB_NICENESS)


def test_a_job_process_does_not_rerun_the_servers_main_script(manager, tmp_path, monkeypatch):
    """Streamlit installs the app script as __main__; a job's process must not execute it."""
    marker = tmp_path / "main-ran"
    script = tmp_path / "app.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    app_main = types.ModuleType("__main__")
    app_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", app_main)
    job = manager.submit(spec(steps=2), owner="alice")
    assert job.wait(60) and job.status == "finished", job.error
    assert not marker.exists()
    assert sys.modules["__main__"] is app_main
