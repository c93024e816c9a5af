"""An ended run's weights live in its session folder, not in the server's memory (issue #12):
still there for Inspect, downloads and forks, gone with the run or the session, and a run that
failed or crashed keeps its last good weights."""
import gc
import time
import weakref

import pytest
import safetensors.torch
import torch

from builder import compile_graph
from builder.templates import load_template
from trainers.config import RunSpec, TrainConfig
from trainers.jobs import JobManager
from trainers.limits import Limits
from tests.test_workers import spec, wait_until

GRAPH = load_template("resnet_small").to_dict()  # convolutions and BatchNorm's running statistics
emitted: list[weakref.ref] = []  # the tensors each run emitted, to tell whether anything keeps them


def train_then(spec, control, emit):
    """Emits two weights events, then ends as `dataset_options["end"]` says."""
    model = compile_graph(GRAPH)
    for epoch in (1, 2):
        state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
        state["stem.weight"].fill_(float(epoch))
        emitted.extend(weakref.ref(tensor) for tensor in state.values())
        emit({"kind": "weights", "state": state})
        del state
    if spec.dataset_options.get("end") == "raise":
        raise RuntimeError("the loss became NaN")
    emit({"kind": "done", "result": {}})


class SlowToTidyManager(JobManager):
    """Keeps the worker thread busy after a job's end is announced (as a loaded machine may):
    whatever that thread still holds then is still in memory when the page looks."""

    def _job_ended(self, job):
        time.sleep(0.3)
        super()._job_ended(job)


@pytest.fixture
def manager():
    manager = SlowToTidyManager(Limits(max_jobs=2, runs_per_session=2, stop_grace_s=1.0),
                                run_fn=train_then, worker="thread")
    yield manager
    assert manager.shutdown()


def submit(manager, folder, owner="alice", **options):
    run = RunSpec(graph=GRAPH, dataset="stand-in", dataset_options=options,
                  config=TrainConfig(epochs=1))
    return manager.submit(run, owner=owner, weights_dir=folder)


def held_in_memory() -> int:
    gc.collect()
    return sum(ref() is not None for ref in emitted)


@pytest.mark.parametrize("end, status", [("done", "finished"), ("raise", "failed")])
def test_an_ended_run_keeps_its_last_good_weights_on_disk_not_in_memory(manager, tmp_path, end,
                                                                       status):
    emitted.clear()
    job = submit(manager, tmp_path, end=end)
    assert job.wait(30) and job.status == status
    assert held_in_memory() == 0  # 2 x 11 MB for resnet_small before
    assert job.weights_file() == tmp_path / f"{job.id}.safetensors"
    assert job.has_weights()
    weights = job.weights()
    assert weights["stem.weight"].eq(2.0).all()  # the last weights event
    assert weights.keys() == compile_graph(GRAPH).state_dict().keys()
    assert safetensors.torch.load_file(job.weights_file()).keys() == weights.keys()


def test_inspect_gets_the_model_back_from_the_disk_copy(manager, tmp_path):
    job = submit(manager, tmp_path)
    assert job.wait(30)
    model = job.model_snapshot()
    assert not model.training
    assert model.stem.weight.eq(2.0).all()
    assert not any(t.is_meta for t in (*model.parameters(), *model.buffers()))
    reference = compile_graph(GRAPH)
    reference.load_state_dict(job.weights())
    x = torch.randn(2, 1, 28, 28)
    assert torch.allclose(model(x), reference.eval()(x))


def test_a_running_job_keeps_its_weights_in_memory_and_writes_them_when_it_ends(tmp_path):
    manager = JobManager(Limits(max_jobs=1), run_fn="tests.test_workers:fake_train",
                         worker="thread")
    try:
        job = manager.submit(spec(steps=2, epochs=1000, batch_s=0.01), owner="alice",
                             weights_dir=tmp_path)
        wait_until(job.has_weights)
        assert job.weights_file() is None and not list(tmp_path.iterdir())
        job.stop()
        assert job.wait(10) and job.weights_file().exists()
    finally:
        assert manager.shutdown()


def test_forgotten_runs_and_an_ended_session_take_their_weights_files_with_them(manager, tmp_path):
    first = submit(manager, tmp_path)
    assert first.wait(30) and first.weights_file().exists()
    kept = [submit(manager, tmp_path) for _ in range(2)]  # 2 runs per session: the first goes
    assert all(job.wait(30) for job in kept)
    assert not (tmp_path / f"{first.id}.safetensors").exists()
    assert first.weights() is None and not first.has_weights()
    assert manager.end_owner("alice")
    assert not list(tmp_path.iterdir())


def test_without_a_folder_the_weights_stay_in_memory(manager):
    job = manager.submit(RunSpec(graph=GRAPH, dataset="stand-in", dataset_options={},
                                 config=TrainConfig(epochs=1)), owner="bob")
    assert job.wait(30) and job.weights_file() is None
    assert job.weights()["stem.weight"].eq(2.0).all()


def test_a_full_disk_keeps_the_weights_in_memory(manager, tmp_path):
    job = submit(manager, tmp_path / "gone")  # a folder that does not exist: the write fails
    assert job.wait(30) and job.weights_file() is None
    assert job.weights()["stem.weight"].eq(2.0).all()


def test_a_run_whose_process_crashed_keeps_its_last_good_weights_on_disk(tmp_path):
    manager = JobManager(Limits(max_jobs=1, stop_grace_s=1.0),
                         run_fn="tests.test_workers:fake_train", worker="process")
    try:
        assert manager.wait_warm(120), "the warm pool did not come up"
        job = manager.submit(spec(epochs=3, steps=2, fail_at=5, fail="segfault"), owner="alice",
                             weights_dir=tmp_path)
        assert job.wait(60) and job.status == "failed"
        assert job.weights_file() == tmp_path / f"{job.id}.safetensors"
        assert job.weights()["fc.weight"].eq(4.0).all()  # the weights of step 4, before the crash
    finally:
        assert manager.shutdown()


def test_the_train_page_keeps_an_ended_runs_weights_in_the_session_folder_until_it_ends(
        monkeypatch):
    import time

    from tests.test_train_page import RecordingManager, click, latest_job, open_page, rerun
    from ui.session_lease import _PendingEnds, _session_dir
    monkeypatch.setenv("LAYERLOOM_WORKER", "thread")
    app = open_page(**{"train.classification.epochs": 3})
    click(app, "train.start")
    job = latest_job(app)
    assert job.wait(30) and job.status == "finished"
    rerun(app)
    owner, run = app.session_state["layerloom.owner"], app.session_state["layerloom.runs"][-1]
    assert job.weights_file().parent == _session_dir(owner)
    downloaded = safetensors.torch.load(run.weights_bytes())  # the Weights download's bytes
    assert all(torch.equal(downloaded[name], tensor) for name, tensor in job.weights().items())
    assert job.model_snapshot() is not None  # what Inspect probes
    session_ends = _PendingEnds(RecordingManager(), session_active=lambda session: False)
    session_ends.schedule(owner, "gone", 0.01)
    time.sleep(0.5)
    assert not job.weights_file().exists()
