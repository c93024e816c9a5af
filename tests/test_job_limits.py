"""The server's limits on runs: Limits itself, and JobManager refusing or capping runs by them."""
from types import SimpleNamespace

import pytest

from builder.templates import load_template
from trainers.config import ConfigError, RunSpec, TrainConfig
from trainers.jobs import JobManager, JobRefused, check_spec
from trainers.limits import Limits, LimitsError
from tests.test_jobs import backend, make_manager  # noqa: F401 - fixtures
from tests.test_workers import fake_train, spec, wait_until


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
