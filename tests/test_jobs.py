"""JobManager and Job with thread workers: controls, the queue, owners, faults and limits.

The tests marked BOTH_BACKENDS run twice: on local workers and on the Ray back end
(trainers.ray_jobs, on the session's single-node cluster from tests/conftest.py).
"""
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import torch

from builder.templates import load_template
from trainers.config import ConfigError, RunSpec, TrainConfig
from trainers.jobs import JobManager, JobRefused, check_spec
from trainers.limits import Limits, LimitsError
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
            import ray
            ray.kill(manager.queue)


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


# --- limits ------------------------------------------------------------------------------------
def report(params=0, activation_bytes=0):
    return SimpleNamespace(total_params=params, total_activation_bytes=activation_bytes)


def test_limits_refuse_a_huge_linear_layer_with_a_message():
    huge = report(params=10**12 + 10**6)  # Linear(10**6, 10**6) as shape inference counts it
    reasons = Limits().check_run(huge, dataset_size=1000, epochs=1)
    assert len(reasons) == 1
    assert "1,000,001,000,000 parameters" in reasons[0] and "LAYERLOOM_MAX_PARAMS" in reasons[0]


def test_limits_check_activations_per_batch_and_sample_epochs():
    limits = Limits(max_activation_mb=100, max_sample_epochs=10_000)
    assert limits.check_run(report(1000, 1024**2), dataset_size=100, epochs=100, batch_size=50) == []
    reasons = limits.check_run(report(1000, 1024**2), dataset_size=1000, epochs=11, batch_size=64)
    assert "about 128 MB of activations" in reasons[0] and "Lower the batch size" in reasons[0]
    assert "11,000 sample-epochs" in reasons[1]


def test_limits_read_from_the_environment_with_clear_errors():
    limits = Limits.from_env({"LAYERLOOM_MAX_JOBS": "4", "LAYERLOOM_WORKER": "Thread",
                              "LAYERLOOM_MAX_PARAMS": "2_000_000", "LAYERLOOM_STOP_GRACE_S": ""})
    assert (limits.max_jobs, limits.worker, limits.max_params, limits.stop_grace_s) == (
        4, "thread", 2_000_000, 3.0)
    with pytest.raises(LimitsError) as bad:
        Limits.from_env({"LAYERLOOM_MAX_JOBS": "two", "LAYERLOOM_RUN_MEMORY_MB": "0",
                         "LAYERLOOM_WORKER": "fork"})
    message = str(bad.value)
    assert "LAYERLOOM_MAX_JOBS must be a whole number >= 1, got 'two'" in message
    assert "LAYERLOOM_RUN_MEMORY_MB must be a whole number >= 1, got 0" in message
    assert "LAYERLOOM_WORKER must be one of auto, thread, process, got 'fork'" in message


def test_upload_limit_names_the_size():
    assert Limits(max_upload_mb=1).check_upload(1_000_000) is None
    assert "2.0 MB; uploads are limited to 1 MB" in Limits(max_upload_mb=1).check_upload(2_000_000)


def test_upload_limit_counts_megabytes_as_the_browser_does():
    """A 9.9 MiB file passed the app's "10 MB" while the uploader refused it as over 10.0MB."""
    message = Limits().check_upload(int(9.9 * 2**20))
    assert message is not None and "10.4 MB; uploads are limited to 10 MB" in message


def test_submit_refuses_a_huge_linear_layer_before_anything_is_allocated(make_manager):
    graph = {"name": "huge", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [10**6]}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 10**6}}],
        "edges": [{"source": "x", "target": "fc"}]}
    manager = make_manager()
    with pytest.raises(JobRefused, match="1,000,001,000,000 parameters"):
        manager.submit(RunSpec(graph=graph, dataset="moons"), owner="alice")
    assert manager.jobs_for("alice") == []


def test_submit_refuses_too_many_sample_epochs_from_the_dataset_options(make_manager):
    graph = load_template("mlp_playground").to_dict()
    manager = make_manager(max_sample_epochs=100_000)
    big = RunSpec(graph=graph, dataset="moons", dataset_options={"n_samples": 5000},
                  config=TrainConfig(epochs=50))
    with pytest.raises(JobRefused, match="50 epochs of 3,500 samples is 175,000 sample-epochs"):
        manager.submit(big, owner="alice")
    default_size = RunSpec(graph=graph, dataset="moons", config=TrainConfig(epochs=2))
    assert check_spec(manager.limits, default_size) == []


def test_resume_cannot_raise_epochs_past_the_sample_epochs_limit():
    manager = JobManager(Limits(max_sample_epochs=1000), run_fn=fake_train, worker="thread")
    try:
        moons = RunSpec(graph=spec().graph, dataset="moons",  # the stand-in ignores the data
                        dataset_options={"n_samples": 100, "steps": 100_000})
        job = manager.submit(moons, owner="alice")
        wait_until(lambda: job.progress().step >= 1)
        job.pause()
        # 100 points keep 70 for training: 1000 // 70 = 14 epochs
        with pytest.raises(ConfigError, match="at most 14 epochs of this dataset"):
            job.resume({"epochs": 15})
        assert job.status == "paused"
        job.resume({"epochs": 14})
        assert job.status == "running" and job.progress().epochs == 14
    finally:
        manager.shutdown()


@pytest.mark.parametrize("dataset, message", [
    ("nope", "There is no dataset called 'nope'."),
    ("digits", "node 'x': Input 'x' has shape [2], but each example of 'digits' has shape [1, 8, 8]"),
])
def test_the_real_loop_reports_user_mistakes_in_plain_words(dataset, message):
    manager = JobManager(Limits(), run_fn="trainers.loop:train_run", worker="thread")
    try:
        graph = load_template("mlp_playground").to_dict()
        job = manager.submit(RunSpec(graph=graph, dataset=dataset), owner="alice")
        assert job.wait(60) and job.status == "failed"
        assert job.error.startswith(message) and "Error:" not in job.error
    finally:
        manager.shutdown()


# --- issue #12: sample-epochs from the real training rows of every dataset --------------------

def test_digits_counts_its_real_rows_at_start(make_manager):
    """`?dataset=digits&epochs=10000` was accepted: digits has no n_samples option."""
    manager = make_manager(max_sample_epochs=5_000_000)
    digits = RunSpec(graph=load_template("mlp_digits").to_dict(), dataset="digits",
                     config=TrainConfig(epochs=10_000))
    with pytest.raises(JobRefused, match="10,000 epochs of 1,257 samples is 12,570,000"):
        manager.submit(digits, owner="alice")


def test_a_csv_upload_counts_its_rows(make_manager, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b,label\n" + "1,2,0\n3,4,1\n" * 5_000)
    graph = load_template("mlp_playground").to_dict()
    manager = make_manager(max_sample_epochs=5_000_000)
    run = RunSpec(graph=graph, dataset="csv", dataset_options={"path": str(path), "target": "label"},
                  config=TrainConfig(epochs=10_000))
    with pytest.raises(JobRefused, match="10,000 epochs of 7,000 samples"):
        manager.submit(run, owner="alice")


def test_downloads_count_their_training_images_without_downloading():
    from trainers.datasets import training_rows
    assert training_rows("mnist", {"n_train": 20_000}) == 17_000
    assert training_rows("digits", {}) == 1_257


def test_resume_on_digits_is_capped_too():
    manager = JobManager(Limits(max_sample_epochs=12_570), run_fn=fake_train, worker="thread")
    try:
        digits = RunSpec(graph=spec().graph, dataset="digits", dataset_options={"steps": 100_000},
                         config=TrainConfig(epochs=2))
        job = manager.submit(digits, owner="alice")
        wait_until(lambda: job.progress().step >= 1)
        job.pause()
        with pytest.raises(ConfigError, match="at most 10 epochs of this dataset"):
            job.resume({"epochs": 10_000})
    finally:
        manager.shutdown()
