"""One GPU shared by a class, simulated on the CPU: memory estimates from shape inference,
GPU slots apart from CPU slots, placement on the least-loaded GPU, out-of-memory handling."""
import threading

import pytest
import torch
from torch import nn

from builder import validate
from builder.templates import load_template
from tests.trainer_fakes import Recorder, blobs_bundle
from trainers.config import RunSpec, TrainConfig, default_config
from trainers.devices import DeviceInfo
from trainers.gpu import CUDA_CONTEXT_BYTES, GIB, GpuPool, dataset_bytes, estimate_gpu_bytes
from trainers.jobs import JobManager
from trainers.limits import Limits
from trainers.loop import Trainer, default_callbacks

MIB = 2**20


def fake_gpus(*totals_gib: float):
    return lambda: [DeviceInfo(f"cuda:{i}", "Fake GPU", int(t * GIB), ("off",), False)
                    for i, t in enumerate(totals_gib)]


def test_the_estimate_counts_weights_optimizer_state_activations_and_data():
    report = validate(load_template("cnn_seed"))
    adam = estimate_gpu_bytes(report, default_config("classification", batch_size=64), 0,
                              context=False)
    sgd = estimate_gpu_bytes(report, default_config("classification", batch_size=64,
                                                    optimizer="sgd", momentum=0), 0, context=False)
    assert adam - sgd == pytest.approx(2 * 4 * report.total_params * 1.2, rel=1e-3)
    big_batch = estimate_gpu_bytes(report, default_config("classification", batch_size=4096),
                                   0, context=False)
    # batch 4096 keeps 4096 samples' activations and their gradients; at batch 64 the largest
    # layer of a 1024-sample evaluation batch weighs more
    largest_layer = max(info.activation_bytes for info in report.nodes.values())
    assert big_batch - adam == pytest.approx(
        (4096 * 2 * report.total_activation_bytes - 2 * largest_layer * 1024) * 1.2, rel=1e-3)
    # 60k 28x28 float images + int64 labels live on the device
    assert dataset_bytes(report, 60_000) == 60_000 * (28 * 28 * 4 + 8)
    with_context = estimate_gpu_bytes(report, default_config("classification"), 0)
    without = estimate_gpu_bytes(report, default_config("classification"), 0, context=False)
    assert with_context - without == CUDA_CONTEXT_BYTES


def test_a_run_goes_to_the_least_loaded_gpu_until_every_slot_is_taken():
    used = {"cuda:0": 10 * GIB, "cuda:1": 2 * GIB}  # by other programs, as the driver says
    pool = GpuPool(per_gpu=2, list_gpus=fake_gpus(16, 16),
                   free=lambda gpu: 16 * GIB - used[gpu])
    assert pool.place("cuda", 4 * GIB) == "cuda:1"  # 14 GiB free against 6
    assert pool.place("cuda", 4 * GIB) == "cuda:1"  # 16 - 4 counted: 12 GiB, still the most
    assert pool.place("cuda", 4 * GIB) == "cuda:0"  # cuda:1's two slots are taken
    assert pool.place("cuda", 4 * GIB) == "cuda:0"
    assert pool.usage() == {"cuda:0": (2, 2), "cuda:1": (2, 2)}
    assert pool.place("cuda", GIB) is None
    assert "Every GPU slot is taken (2 runs per GPU)" in pool.wait_reason("cuda", GIB)
    pool.release("cuda:1", 4 * GIB)
    assert pool.place("cuda", GIB) == "cuda:1"


def test_a_run_waits_while_the_runs_placed_on_its_gpu_leave_too_little_memory():
    pool = GpuPool(per_gpu=4, list_gpus=fake_gpus(8), free=lambda gpu: 8 * GIB)
    assert pool.place("cuda:0", 5 * GIB) == "cuda:0"
    assert pool.place("cuda:0", 4 * GIB) is None  # the first has not allocated yet: 3 GiB left
    assert ("Waiting for GPU memory: this run needs about 4.0 GiB, 3.0 GiB is free"
            in pool.wait_reason("cuda:0", 4 * GIB))
    pool.release("cuda:0", 5 * GIB)
    assert pool.place("cuda:0", 4 * GIB) == "cuda:0"


def test_a_run_bigger_than_the_gpu_or_on_a_gpu_not_there_is_refused_at_once():
    pool = GpuPool(per_gpu=4, list_gpus=fake_gpus(8), free=lambda gpu: 8 * GIB)
    assert "needs about 9.0 GiB of GPU memory" in pool.refusal("cuda:0", 9 * GIB, 512)
    assert "a batch of 512" in pool.refusal("cuda", 9 * GIB, 512)
    assert "There is no GPU 'cuda:3' on this server; choose one of cuda:0" in \
        pool.refusal("cuda:3", GIB, 64)
    assert pool.refusal("cuda", GIB, 64) is None


# --- the job manager: GPU slots beside CPU slots ------------------------------------------------
def hold_until_stopped(spec, control, emit):
    """A run that reports its device and trains until stopped."""
    emit({"kind": "step", "step": 1, "epoch": 0, "loss": 1.0, "lr": 0.1, "samples_per_s": 1.0,
          "device": spec.config.device})
    while not control.should_stop():
        control.checkpoint_pause()
        threading.Event().wait(0.005)
    emit({"kind": "done", "result": {"device": spec.config.device}})


def run_on(device: str) -> RunSpec:
    graph = load_template("mlp_digits").to_dict()
    return RunSpec(graph=graph, dataset="digits", config=TrainConfig(device=device))


@pytest.fixture
def gpu_manager():
    # Two 0.9 GiB GPUs: each holds one run (a CUDA context alone is counted as 0.5 GiB).
    pool = GpuPool(per_gpu=2, list_gpus=fake_gpus(0.9, 0.9), free=lambda gpu: int(0.9 * GIB))
    manager = JobManager(Limits(max_jobs=1), run_fn=hold_until_stopped, worker="thread",
                         gpus=pool)
    yield manager
    assert manager.shutdown()


def wait_for_start(job):
    for _ in range(1000):
        if job.progress().step:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{job} did not start")


def test_gpu_runs_have_their_own_slots_spread_over_gpus_and_queue_for_memory(gpu_manager):
    cpu = gpu_manager.submit(run_on("cpu"), owner="ann")
    first = gpu_manager.submit(run_on("cuda"), owner="bob")
    second = gpu_manager.submit(run_on("cuda"), owner="cat")
    third = gpu_manager.submit(run_on("cuda"), owner="dan")
    cpu_waiting = gpu_manager.submit(run_on("cpu"), owner="eve")
    for job in (cpu, first, second):
        wait_for_start(job)  # the CPU slot's run does not hold the GPU runs back
    assert {first.spec.config.device, second.spec.config.device} == {"cuda:0", "cuda:1"}
    assert third.status == "queued" and third.queue_position() == 1
    assert "Waiting for GPU memory" in third.queue_reason()
    assert cpu_waiting.queue_position() == 1 and cpu_waiting.queue_reason() is None
    freed = first.spec.config.device
    first.stop()
    assert first.wait(10)
    wait_for_start(third)
    assert third.spec.config.device == freed and cpu_waiting.status == "queued"


def test_a_gpu_run_bigger_than_the_gpu_is_refused_with_the_reason():
    from trainers.jobs import JobRefused
    pool = GpuPool(per_gpu=2, list_gpus=fake_gpus(0.25), free=lambda gpu: GIB // 4)
    manager = JobManager(Limits(), run_fn=hold_until_stopped, worker="thread", gpus=pool)
    try:
        with pytest.raises(JobRefused, match=r"needs about \d+ MiB of GPU memory .* the GPU has "
                                             r"256 MiB. Lower the batch size"):
            manager.submit(run_on("cuda:0"), owner="ann")
        assert manager.jobs_for("ann") == []
    finally:
        assert manager.shutdown()


# --- out of GPU memory in the loop ---------------------------------------------------------------
class RunsOutOfMemory(nn.Module):
    """A linear model whose forward fails like a full GPU from training batch `at` on."""

    def __init__(self, at: int):
        super().__init__()
        self.fc, self.at, self.calls = nn.Linear(8, 3), at, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls >= self.at:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return self.fc(x)


def test_out_of_memory_ends_the_run_with_a_message_and_keeps_the_last_good_weights():
    emit = Recorder()
    model = RunsOutOfMemory(at=12)  # epoch 2 of 6 batches (360 samples, batch 64)
    trainer = Trainer(model, blobs_bundle(), default_config("classification", epochs=5),
                      default_callbacks(emit))
    result = trainer.fit()
    assert result["status"] == "out_of_memory" and result["epochs"] == 1
    assert result["error"] == result["message"]
    assert result["message"].startswith("cpu ran out of memory at step 11 (batch size 64)")
    assert "Lower the batch size" in result["message"]
    assert result["test_loss"] is None  # no more work on a full device
    kept = emit.of("weights")[-1]["state"]
    assert torch.equal(kept["fc.weight"], trainer.good_state["fc.weight"])
    assert torch.equal(model.fc.weight.detach(), kept["fc.weight"])
    assert all(p.grad is None for p in model.parameters())  # gradients handed back
    assert emit.events[-1]["kind"] == "done"


def test_a_gpu_run_refuses_to_start_when_the_driver_reports_too_little_free_memory(monkeypatch):
    from tests.fake_cuda_host import FakeCuda
    from trainers.loop import TrainingError, train_run
    FakeCuda(total=GIB, used=[GIB - 5 * MIB]).install(monkeypatch)  # others use all but 5 MiB
    spec = run_on("cuda:0").model_copy(update={"config": TrainConfig(device="cuda:0",
                                                                     batch_size=8192)})
    with pytest.raises(TrainingError, match=r"cuda:0 has 5 MiB free and this run needs about "
                                            r"\d+ MiB; try again when other runs have ended"):
        train_run(spec, None, Recorder())


def test_gpu_slots_come_from_layerloom_max_gpu_jobs():
    from trainers.limits import LimitsError
    limits = Limits.from_env({"LAYERLOOM_MAX_GPU_JOBS": "3"})
    assert limits.max_gpu_jobs == 3 and Limits().max_gpu_jobs == 4
    with pytest.raises(LimitsError, match="LAYERLOOM_MAX_GPU_JOBS must be a whole number >= 1"):
        Limits.from_env({"LAYERLOOM_MAX_GPU_JOBS": "0"})
    manager = JobManager(limits, run_fn=hold_until_stopped, worker="thread")
    try:
        assert manager.gpus.per_gpu == 3
    finally:
        assert manager.shutdown()
