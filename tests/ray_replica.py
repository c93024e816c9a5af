"""A second app process for tests/test_ray_jobs.py, and the run it submits.

`python tests/ray_replica.py ADDRESS QUEUE FOLDER` joins the Ray cluster at ADDRESS as another
replica of the app (its own RayJobManager on the shared queue QUEUE), submits two runs of
`hold_until_released`, prints where they stand once the queue has answered, then how they ended.
"""
import json
import sys
import time
from pathlib import Path


def hold_until_released(spec, control, emit):
    """A run that records when it trains (FOLDER/NAME.start, .end) and holds its slot until the
    test writes FOLDER/release."""
    folder, name = Path(spec.dataset_options["folder"]), spec.dataset_options["name"]
    (folder / f"{name}.start").write_text(repr(time.time()))
    while not (folder / "release").exists() and not control.should_stop():
        control.checkpoint_pause()
        time.sleep(0.05)
    (folder / f"{name}.end").write_text(repr(time.time()))
    emit({"kind": "done", "result": {"name": name}})


def held_run(folder: Path, name: str):
    from trainers.config import RunSpec, TrainConfig
    return RunSpec(graph={"name": "stand-in", "nodes": [], "edges": []}, dataset="stand-in",
                   dataset_options={"folder": str(folder), "name": name}, config=TrainConfig())


def main(address: str, queue: str, folder: str) -> None:
    from trainers.limits import Limits
    from trainers.ray_jobs import RayJobManager
    manager = RayJobManager(Limits(max_jobs=2, stop_grace_s=1.0), address=address,
                            run_fn="tests.ray_replica:hold_until_released", queue_name=queue)
    jobs = [manager.submit(held_run(Path(folder), f"b{i}"), owner=f"b-student-{i}")
            for i in range(2)]
    deadline = time.monotonic() + 30
    while (any(job.status == "queued" and job.queue_position() is None for job in jobs)
           and time.monotonic() < deadline):
        time.sleep(0.05)
    print(json.dumps({"submitted": [[job.status, job.queue_position()] for job in jobs]}),
          flush=True)
    for job in jobs:
        job.wait(120)
    print(json.dumps({"ended": [[job.status, job.error] for job in jobs]}), flush=True)
    manager.shutdown()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main(*sys.argv[1:4])
