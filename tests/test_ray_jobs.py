"""The Ray back end beyond what tests/test_jobs.py runs on both back ends: the cluster-wide
queue, two app processes sharing it, a lost worker, and choosing the back end."""
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from trainers.backends import backend_from_env, make_job_manager
from trainers.cluster_queue import ClusterQueue
from trainers.config import RunSpec
from trainers.jobs import JobManager
from trainers.limits import Limits, LimitsError
from trainers.ray_run import ship_files, unpack_files
from tests.conftest import ROOT
from tests.ray_replica import held_run
from tests.test_workers import spec, wait_until


# --- the queue as a plain class: no Ray needed ---------------------------------------------------
def test_the_queue_grants_slots_in_order_across_replicas():
    queue = ClusterQueue(max_jobs=2, runs_per_session=8)
    for job_id, replica in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B")]:
        assert queue.submit(job_id, replica, owner=job_id, gpu=False) == []
    assert queue.poll("A") == {"start": [("a1", 0)], "positions": {"a2": 1}, "running": 2}
    assert queue.poll("B") == {"start": [("b1", 1)], "positions": {"b2": 2}, "running": 2}
    queue.release("a1")  # its slot, 0, goes to the next in line
    assert queue.poll("B")["start"] == [] and queue.poll("A")["start"] == [("a2", 0)]
    assert queue.poll("B")["positions"] == {"b2": 1}


def test_the_queue_counts_a_sessions_runs_on_every_replica_and_gpu_runs_apart():
    queue = ClusterQueue(max_jobs=1, runs_per_session=2)
    assert queue.submit("r1", "A", "alice", gpu=False) == []
    assert queue.submit("r2", "B", "alice", gpu=True) == []
    assert queue.submit("r3", "B", "alice", gpu=False) == [
        "You already have 2 runs queued or running; stop one before starting another."]
    assert queue.poll("B")["start"] == [("r2", None)]  # a GPU run takes no CPU slot
    assert queue.submit("r3", "B", "alice", gpu=False, ended=("r1",)) == []  # r1 ended on A


def test_a_replica_that_stops_polling_loses_its_slots(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("trainers.cluster_queue.time.monotonic", lambda: clock[0])
    queue = ClusterQueue(max_jobs=1, runs_per_session=8, replica_timeout_s=30)
    abandoned = []
    monkeypatch.setattr(queue, "_slot_abandoned", abandoned.append)
    queue.submit("a1", "A", "alice", gpu=False)
    queue.submit("b1", "B", "bob", gpu=False)
    assert queue.poll("A")["start"] == [("a1", 0)]
    for _ in range(4):  # B keeps polling; A's process died
        clock[0] += 10
        granted = queue.poll("B")["start"]
    assert granted == [("b1", 0)]
    assert abandoned == [0]  # A's run may still train in slot 0: under Ray, its runner is replaced


def test_a_replica_taken_for_dead_gets_its_runs_back_when_it_polls_again(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("trainers.cluster_queue.time.monotonic", lambda: clock[0])
    queue = ClusterQueue(max_jobs=1, runs_per_session=8, replica_timeout_s=30)
    queue.submit("a1", "A", "alice", gpu=False)
    queue.submit("a2", "A", "ann", gpu=False)
    assert queue.poll("A")["start"] == [("a1", 0)]
    clock[0] += 31  # A was busy for 31 s: B's poll drops it
    queue.poll("B")
    assert queue.cpu_running() == 0
    reply = queue.poll("A", waiting=(("a2", "ann", False),), running=(("a1", "alice", False, 0),))
    assert reply == {"start": [], "positions": {"a2": 1}, "running": 1}


def test_files_a_run_reads_travel_with_it(tmp_path):
    table, weights = tmp_path / "table.csv", tmp_path / "start.safetensors"
    table.write_text("a,label\n1,0\n")
    weights.write_bytes(b"weights")
    run = RunSpec(graph={"name": "g", "nodes": [], "edges": []}, dataset="csv",
                  dataset_options={"path": str(table), "target": "label"}, init_state=str(weights))
    shipped, files = ship_files(run)
    elsewhere = tmp_path / "other-machine"
    elsewhere.mkdir()
    there = unpack_files(shipped, files, elsewhere)
    assert Path(there.dataset_options["path"]).read_text() == "a,label\n1,0\n"
    assert Path(there.init_state).read_bytes() == b"weights"
    assert there.dataset_options["target"] == "label" and Path(there.init_state).parent == elsewhere


# --- choosing the back end -----------------------------------------------------------------------
def test_the_environment_chooses_the_back_end_and_names_a_bad_value():
    assert backend_from_env({}) == "local" and backend_from_env({"LAYERLOOM_JOBS": " Ray "}) == "ray"
    with pytest.raises(LimitsError, match="LAYERLOOM_JOBS must be one of local, ray, got 'slurm'"):
        backend_from_env({"LAYERLOOM_JOBS": "slurm"})
    manager = make_job_manager(Limits(worker="thread"), {})
    assert isinstance(manager, JobManager)
    manager.shutdown()


def test_ray_missing_is_named_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets without it
    monkeypatch.delitem(sys.modules, "trainers.ray_jobs", raising=False)
    with pytest.raises(LimitsError, match="pip install -r requirements-cluster.txt"):
        make_job_manager(Limits(worker="thread"), {"LAYERLOOM_JOBS": "ray"})


def test_an_unreachable_cluster_is_named_at_once(monkeypatch):
    ray = pytest.importorskip("ray", reason="needs ray (requirements-dev.txt)")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as in a fresh app process
    from tests.conftest import _free_port
    address = f"127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with pytest.raises(LimitsError, match=f"the Ray cluster at {address} cannot be reached"):
        make_job_manager(Limits(worker="thread"), {"LAYERLOOM_JOBS": "ray",
                                                   "LAYERLOOM_RAY_ADDRESS": address})
    assert time.monotonic() - started < 10  # not ray.init's minutes of retries


# --- on the session's Ray cluster ----------------------------------------------------------------
def overlap(folder: Path) -> int:
    """The most runs that were training at the same moment, from their .start/.end files."""
    spans = [(float(f.read_text()), float(f.with_suffix(".end").read_text()))
             for f in folder.glob("*.start")]
    return max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)


@pytest.fixture
def ray_manager(ray_cluster):
    from trainers.ray_jobs import RayJobManager, remove_queue
    made = []

    def make(run_fn: str, **limits):
        limits = Limits(**{"max_jobs": 2, "stop_grace_s": 1.0, **limits})
        made.append(RayJobManager(limits, run_fn=run_fn, queue_name=f"test-{uuid.uuid4().hex[:8]}"))
        return made[-1]

    yield make
    for manager in made:
        assert manager.shutdown()
        remove_queue(manager.queue)


@pytest.mark.ray
@pytest.mark.xdist_group("ray")
def test_two_app_processes_share_one_queue_and_its_limit(ray_cluster, ray_manager, tmp_path):
    manager = ray_manager("tests.ray_replica:hold_until_released", max_jobs=2)
    mine = [manager.submit(held_run(tmp_path, f"a{i}"), owner=f"a-student-{i}") for i in range(2)]
    wait_until(lambda: len(list(tmp_path.glob("a*.start"))) == 2, timeout=240)
    other = subprocess.Popen(  # a second replica of the app, in its own process
        [sys.executable, "tests/ray_replica.py", ray_cluster, manager.queue_name, str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        submitted = json.loads(other.stdout.readline())["submitted"]
        # both slots are held by this process's runs: the other replica's runs wait, in order
        assert submitted == [["queued", 1], ["queued", 2]]
        time.sleep(1.0)
        assert not list(tmp_path.glob("b*.start"))
        (tmp_path / "release").write_text("")
        ended = json.loads(other.stdout.readline())["ended"]
    finally:
        other.wait(60)
    assert ended == [["finished", None], ["finished", None]]
    assert all(job.wait(30) and job.status == "finished" for job in mine)
    assert overlap(tmp_path) == 2  # never more than the limit, from both processes together


@pytest.mark.ray
@pytest.mark.xdist_group("ray")
def test_a_lost_worker_ends_its_run_with_a_message_and_keeps_its_metrics(ray_manager):
    import ray
    manager = ray_manager("tests.test_workers:fake_train", max_jobs=2)
    lost = manager.submit(spec(epochs=200, steps=5, batch_s=0.01), owner="alice")
    crashed = manager.submit(spec(epochs=1, steps=100, fail_at=60, fail="exit"), owner="bob")
    wait_until(lambda: lost.weights() is not None, timeout=240)
    epochs_seen = len(lost.metrics().epochs)
    ray.kill(lost._handle.actor)  # what the cluster reports when the run's machine goes away
    assert lost.wait(15) and lost.status == "failed"
    assert crashed.wait(60) and crashed.status == "failed"
    for job in (lost, crashed):
        assert job.error.startswith("The machine running this run left the cluster, or its "
                                    "worker process died")
        assert "last good weights and metrics are kept" in job.error
    assert len(lost.metrics().epochs) >= epochs_seen >= 1 and lost.weights() is not None
    healthy = manager.submit(spec(steps=3), owner="carol")  # the slots came back
    assert healthy.wait(60) and healthy.status == "finished"


def runner_pid(job) -> int:
    """The process id of the actor a running job trains in."""
    import ray
    wait_until(lambda: job._handle is not None or job.ended, timeout=240)
    return ray.get(job._handle.actor.pid.remote(), timeout=240)


@pytest.mark.ray
@pytest.mark.xdist_group("ray")
def test_runs_train_one_after_another_in_a_warm_runner_and_a_crash_gets_a_fresh_one(
        ray_manager):
    manager = ray_manager("tests.test_workers:fake_train", max_jobs=1)
    pids = []
    for owner in ("alice", "bob"):
        job = manager.submit(spec(steps=100_000, batch_s=0.01), owner=owner)
        pids.append(runner_pid(job))
        wait_until(lambda: job.progress().step >= 1, timeout=240)
        job.stop()
        assert job.wait(5) and job.status == "stopped"
    assert pids[0] == pids[1]  # bob's run started in the process alice's run had warmed up
    crashed = manager.submit(spec(steps=100, fail_at=2, fail="exit"), owner="carol")
    assert crashed.wait(240) and crashed.status == "failed"
    assert crashed.error.startswith("The machine running this run left the cluster, or its "
                                    "worker process died")
    after = manager.submit(spec(epochs=2, steps=3), owner="dave")
    assert runner_pid(after) != pids[0]  # the crashed runner was replaced, not reused
    assert after.wait(240) and after.status == "finished"
    assert [row["epoch"] for row in after.metrics().epochs] == [1, 2]


@pytest.mark.ray
@pytest.mark.xdist_group("ray")
def test_a_run_past_the_memory_cap_or_hard_stopped_leaves_the_next_run_a_sound_runner(
        ray_manager):
    manager = ray_manager("tests.test_workers:fake_train", max_jobs=1, run_memory_mb=512)
    greedy = manager.submit(spec(steps=100, fail_at=2, fail="memory"), owner="alice")
    assert greedy.wait(240) and greedy.status == "failed"
    assert greedy.error == ("The run ran out of memory (this server caps a run at 512 MB). "
                            "Try a smaller batch size or model.")
    stuck = manager.submit(spec(steps=10, batch_s=600), owner="bob")  # one batch of 10 minutes
    stuck_pid = runner_pid(stuck)
    stuck.stop()  # not obeyed within stop_grace_s (1 s): the runner is killed
    assert stuck.wait(10) and stuck.status == "stopped"
    healthy = manager.submit(spec(epochs=1, steps=3), owner="carol")
    assert runner_pid(healthy) != stuck_pid
    assert healthy.wait(240) and healthy.status == "finished" and healthy.error is None


class LateAnswers:
    """The queue as a busy replica's page thread hears it: a submit's answer comes a second
    after the queue has the run (the replica's poller asks the queue meanwhile)."""

    def __init__(self, queue):
        self.queue = queue

    def __getattr__(self, name):
        return getattr(self.queue, name)

    @property
    def submit(self):
        import ray
        queue = self.queue

        class Late:
            @staticmethod
            def remote(*args):
                answer = queue.submit.remote(*args)
                ray.wait([answer])
                time.sleep(1.0)
                return answer
        return Late


@pytest.mark.ray
@pytest.mark.xdist_group("ray")
def test_a_run_granted_before_its_submit_returns_still_starts(ray_manager):
    manager = ray_manager("tests.test_workers:fake_train", max_jobs=1)
    manager.queue = LateAnswers(manager.queue)
    try:
        job = manager.submit(spec(epochs=1, steps=3), owner="alice")
        assert job.wait(240) and job.status == "finished"
    finally:
        manager.queue = manager.queue.queue
