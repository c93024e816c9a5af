"""JobManager and Job: controls, the queue, owners and faults (limits: tests/test_job_limits.py).

The tests marked BOTH_BACKENDS run twice: on local workers and on the Ray back end
(trainers.ray_jobs, on the session's single-node cluster from tests/conftest.py).
"""
import threading
import time
import uuid

import pytest
import torch

from trainers.config import ConfigError
from trainers.jobs import JobManager, JobRefused
from trainers.limits import Limits
from tests.conftest import RAY_TESTS
from tests.test_workers import fake_train, spec, wait_until

BOTH_BACKENDS = pytest.mark.parametrize(
    "backend", ["local", pytest.param("ray", marks=RAY_TESTS)], indirect=True)


@pytest.fixture
def backend(request) -> str:
    return getattr(request, "param", "local")


@pytest.fixture
def lag_s(backend) -> float:
    """How far a page's view of a run may trail the run: Ray's events come by polling."""
    return 1.0 if backend == "ray" else 0.0


@pytest.fixture
def make_manager(backend, request):
    managers = []

    def make(**limits):
        limits = Limits(**{"max_jobs": 2, "stop_grace_s": 1.0, **limits})
        if backend == "ray":
            request.getfixturevalue("ray_cluster")
            from trainers.ray_jobs import RayJobManager
            manager = RayJobManager(limits, run_fn="tests.test_workers:fake_train",
                                    queue_name=f"test-{uuid.uuid4().hex[:8]}")
        else:
            manager = JobManager(limits, run_fn=fake_train, worker="thread")
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        assert manager.shutdown()
        if backend == "ray":
            from trainers.ray_jobs import remove_queue
            remove_queue(manager.queue)


@BOTH_BACKENDS
def test_a_run_finishes_with_metrics_progress_and_weights(make_manager):
    job = make_manager().submit(spec(epochs=3, steps=4), owner="alice")
    assert job.wait(60) and job.status == "finished" and job.error is None
    progress = job.progress()
    assert (progress.epoch, progress.epochs, progress.step, progress.fraction) == (3, 3, 12, 1.0)
    assert [row["epoch"] for row in job.metrics().epochs] == [1, 2, 3]
    assert job.weights()["fc.weight"][0, 0].item() == 12.0
    assert job.result == {"steps": 12, "lr": job.spec.config.lr}


@BOTH_BACKENDS
def test_stop_takes_effect_within_one_batch(make_manager, lag_s):
    job = make_manager().submit(spec(steps=100_000, batch_s=0.01), owner="alice")
    wait_until(lambda: job.progress().step >= 5, timeout=60)
    assert job.progress().eta_s > 0
    step_at_stop = job.progress().step
    job.stop()
    assert job.wait(2 + lag_s) and job.status == "stopped"
    # the batch in flight, then the check (plus the steps a polled view had not seen yet)
    assert job.result["steps"] <= step_at_stop + 2 + lag_s / 0.01


@BOTH_BACKENDS
def test_pause_holds_and_resume_applies_changes(make_manager, lag_s):
    job = make_manager().submit(spec(steps=100_000, batch_s=0.002), owner="alice")
    wait_until(lambda: job.progress().step >= 3, timeout=60)
    job.pause()
    time.sleep(0.1 + lag_s)
    held_at = job.progress().step
    time.sleep(0.3 + lag_s)
    assert job.status == "paused" and job.progress().step == held_at
    with pytest.raises(ConfigError, match="batch_size"):
        job.resume({"batch_size": 8})
    assert job.status == "paused"
    job.resume({"lr": 0.25})
    wait_until(lambda: job.progress().step > held_at + 3)
    assert job.status == "running"
    job.stop()
    assert job.wait(2 + lag_s) and job.result["lr"] == 0.25


def test_stop_ends_a_paused_run(make_manager):
    job = make_manager().submit(spec(steps=100_000), owner="alice")
    wait_until(lambda: job.progress().step >= 1)
    job.pause()
    job.stop()
    assert job.wait(2) and job.status == "stopped"


@BOTH_BACKENDS
def test_queue_respects_the_limit_and_shows_positions(make_manager, lag_s):
    manager = make_manager(max_jobs=1)
    first, second, third = (manager.submit(spec(steps=100_000), owner=f"s{i}") for i in range(3))
    wait_until(lambda: first.progress().step >= 1, timeout=60)
    wait_until(lambda: third.queue_position() == 2, timeout=1 + lag_s)
    assert (first.status, second.status, third.status) == ("running", "queued", "queued")
    assert (first.queue_position(), second.queue_position(), third.queue_position()) == (None, 1, 2)
    second.stop()  # leaving the queue moves the others up
    assert second.status == "stopped" and third.queue_position() == 1
    first.stop()
    wait_until(lambda: third.status == "running")
    assert third.queue_position() is None
    third.stop()
    assert third.wait(2 + lag_s) and second.progress().step == 0


def test_end_owner_stops_and_forgets_only_that_owners_jobs(make_manager):
    manager = make_manager(max_jobs=2)
    threads_before = set(threading.enumerate())
    gone = [manager.submit(spec(steps=100_000), owner="closed-tab") for _ in range(3)]
    other = manager.submit(spec(steps=100_000), owner="open-tab")
    wait_until(lambda: gone[0].progress().step >= 1)
    started = time.monotonic()
    assert manager.end_owner("closed-tab")
    assert time.monotonic() - started < 2
    assert all(job.status == "stopped" for job in gone)
    assert manager.jobs_for("closed-tab") == [] and manager.jobs_for("open-tab") == [other]
    wait_until(lambda: other.status == "running")  # the freed slot went to the queue
    other.stop()
    assert other.wait(2)
    wait_until(lambda: set(threading.enumerate()) <= threads_before)


@BOTH_BACKENDS
def test_a_worker_exception_fails_the_job_with_its_message(make_manager):
    manager = make_manager()
    job = manager.submit(spec(steps=10, fail_at=2, fail="raise"), owner="alice")
    assert job.wait(60) and job.status == "failed"
    assert job.error == "ValueError: mat1 and mat2 shapes cannot be multiplied (4x3 and 5x2)"
    healthy = manager.submit(spec(steps=3), owner="alice")
    assert healthy.wait(60) and healthy.status == "finished"


def test_a_run_the_loop_reports_as_failed_keeps_its_last_good_weights(make_manager):
    def diverging(spec, control, emit):
        emit({"kind": "weights", "state": {"fc.weight": torch.tensor(1.0)}})
        emit({"kind": "alert", "code": "nan_loss", "message": "The loss became NaN.",
              "advice": "Lower the learning rate."})
        emit({"kind": "done", "result": {"error": "The loss became NaN at step 7."}})

    manager = JobManager(Limits(max_jobs=1), run_fn=diverging, worker="thread")
    try:
        job = manager.submit(spec(), owner="alice")
        assert job.wait(5) and job.status == "failed"
        assert job.error == "The loss became NaN at step 7."
        assert [a["code"] for a in job.alerts()] == ["nan_loss"]
        assert job.weights()["fc.weight"].item() == 1.0
    finally:
        manager.shutdown()


@BOTH_BACKENDS
def test_each_owner_keeps_a_bounded_number_of_runs(make_manager, lag_s):
    manager = make_manager(runs_per_session=2)
    first = manager.submit(spec(steps=100_000), owner="alice")
    second = manager.submit(spec(steps=100_000), owner="alice")
    with pytest.raises(JobRefused, match="already have 2 runs queued or running"):
        manager.submit(spec(), owner="alice")
    first.stop()
    assert first.wait(2 + lag_s)
    third = manager.submit(spec(steps=1), owner="alice")
    assert manager.jobs_for("alice") == [second, third]  # the oldest ended run is forgotten
    second.stop()


def test_preflight_refusals_reach_the_caller_before_anything_runs(make_manager):
    manager = JobManager(Limits(), run_fn=fake_train, worker="thread",
                         preflight=lambda spec: ["The model has too many parameters."])
    with pytest.raises(JobRefused) as refused:
        manager.submit(spec(), owner="alice")
    assert refused.value.reasons == ["The model has too many parameters."]
    assert manager.jobs_for("alice") == []
    manager.shutdown()


def test_a_closed_manager_refuses_new_runs(make_manager):
    manager = make_manager()
    manager.shutdown()
    with pytest.raises(JobRefused, match="shutting down"):
        manager.submit(spec(), owner="alice")
