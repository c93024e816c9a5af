"""One GPU (or several) shared by a class: what a run will need, and where it goes.

A run's GPU memory is estimated from shape inference, before anything is allocated; the job
manager starts a GPU run only where the estimate fits, on the least-loaded GPU (`GpuPool`), and
the run checks the driver's free memory once more when it starts (trainers.loop). The
estimate is deliberately simple: float32 tensors, PyTorch's caching allocator's slack as a flat
share. It decides queueing, not correctness: a run that still runs out of GPU memory ends with
a message and its last good weights (trainers.loop).
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable

import torch

from trainers.config import TrainConfig
from trainers.devices import AUTO_GPU, cuda_devices, gpu_memory_use
from trainers.limits import ACTIVATION_TRAINING_FACTOR

GIB = 2**30
FLOAT_BYTES = 4
LABEL_BYTES = 8  # int64 class ids; regression targets are smaller
EVAL_BATCH = 1024  # the loop's evaluation batch (no_grad: only the largest layer's in+out live)
ALLOCATOR_SLACK = 1.2  # the caching allocator rounds blocks up and keeps freed ones
# Each job process creates its own CUDA context (driver state, cuBLAS/cuDNN workspaces).
CUDA_CONTEXT_BYTES = 512 * 2**20


def optimizer_states(config: TrainConfig) -> int:
    """Float32 tensors the optimizer keeps per weight."""
    if config.optimizer in ("adam", "adamw"):
        return 2  # first and second moments
    if config.optimizer == "rmsprop":
        return 1 + (config.momentum > 0)
    return int(config.momentum > 0)  # SGD's momentum buffer


def dataset_bytes(report, samples: int) -> int:
    """Bytes of a dataset of `samples` on the device (inputs as the graph's Input nodes say)."""
    per_sample = LABEL_BYTES
    for node_id in report.input_ids:
        node = report.nodes[node_id]
        per_sample += math.prod(node.output_shape or ()) * (8 if node.dtype == "long" else 4)
    return per_sample * max(0, samples)


def estimate_gpu_bytes(report, config: TrainConfig, data_bytes: int, *,
                       context: bool = True) -> int:
    """Peak GPU memory of training this graph: weights, gradients and optimizer state; one
    training batch's activations (kept for backward, plus their gradients); the evaluation
    batch's largest layer; the dataset, resident on the device; with `context`, the job
    process's CUDA context."""
    params = int(report.total_params or 0)
    weights = params * FLOAT_BYTES * (2 + optimizer_states(config))
    per_sample = int(report.total_activation_bytes or 0)
    training = per_sample * config.batch_size * ACTIVATION_TRAINING_FACTOR
    largest_layer = max((info.activation_bytes or 0 for info in report.nodes.values()), default=0)
    evaluation = 2 * largest_layer * EVAL_BATCH
    tensors = weights + max(training, evaluation) + data_bytes
    return int(tensors * ALLOCATOR_SLACK) + (CUDA_CONTEXT_BYTES if context else 0)


def memory_text(n: int) -> str:
    """"1.5 GiB", or "300 MiB" below a GiB."""
    return f"{n / GIB:,.1f} GiB" if n >= GIB else f"{n / 2**20:,.0f} MiB"


def free_bytes(device: str) -> int:
    used, total = gpu_memory_use()[device]
    return total - used


class GpuPool:
    """GPU job slots, apart from the CPU's: at most `per_gpu` runs on each GPU at once, each
    placed where its estimate fits what is free, on the least-loaded GPU for "cuda" (auto).

    Free memory is the smaller of the driver's figure (every process on the GPU, ours
    included) and the GPU's total less the estimates of the runs placed here (a run that has
    just started has not allocated yet). Thread-safe; the GPUs are listed on first use, so a
    server that never gets a GPU run never initialises CUDA."""

    def __init__(self, per_gpu: int, list_gpus: Callable[[], list] = cuda_devices,
                 free: Callable[[str], int] = free_bytes):
        self.per_gpu = per_gpu
        self._list_gpus, self._free = list_gpus, free
        self._totals: dict[str, int] | None = None
        self._placed: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def _gpus(self) -> dict[str, int]:
        if self._totals is None:
            self._totals = {info.id: info.memory_bytes for info in self._list_gpus()}
            self._placed = {gpu: [] for gpu in self._totals}
        return self._totals

    def _candidates(self, wanted: str) -> list[str]:
        gpus = self._gpus()
        wanted = "cuda:0" if wanted == AUTO_GPU and len(gpus) == 1 else wanted
        return list(gpus) if wanted == AUTO_GPU else [wanted] if wanted in gpus else []

    def available(self, gpu: str) -> int:
        return min(self._free(gpu), self._gpus()[gpu] - sum(self._placed[gpu]))

    def refusal(self, wanted: str, need: int, batch_size: int) -> str | None:
        """Why this run can never start here (no such GPU, or bigger than the largest one)."""
        with self._lock:
            gpus = self._candidates(wanted)
            if not gpus:
                return (f"There is no GPU {wanted!r} on this server"
                        f"{'; choose one of ' + ', '.join(self._gpus()) if self._gpus() else ''}.")
            largest = max(self._gpus()[gpu] for gpu in gpus)
        if need > largest:
            return (f"This run needs about {memory_text(need)} of GPU memory (weights, gradients, "
                    f"optimizer state, activations for a batch of {batch_size}, the dataset); "
                    f"the GPU has {memory_text(largest)}. Lower the batch size or shrink the model.")
        return None

    def place(self, wanted: str, need: int) -> str | None:
        """The GPU to start this run on now (its estimate is then counted there), or None
        while it has to wait."""
        with self._lock:
            open_gpus = [gpu for gpu in self._candidates(wanted)
                         if len(self._placed[gpu]) < self.per_gpu]
            room = {gpu: self.available(gpu) for gpu in open_gpus}
            fitting = [gpu for gpu in open_gpus if room[gpu] >= need]
            if not fitting:
                return None
            gpu = max(fitting, key=lambda g: (room[g], -len(self._placed[g])))
            self._placed[gpu].append(need)
            return gpu

    def release(self, gpu: str, need: int) -> None:
        with self._lock:
            if need in self._placed.get(gpu, ()):
                self._placed[gpu].remove(need)

    def wait_reason(self, wanted: str, need: int) -> str:
        """Why a queued run has not started, for the person waiting."""
        with self._lock:
            gpus = self._candidates(wanted)
            if all(len(self._placed[gpu]) >= self.per_gpu for gpu in gpus):
                return (f"Every GPU slot is taken ({self.per_gpu} runs per GPU); this run starts "
                        "when one ends.")
            best = max((self.available(gpu) for gpu in gpus), default=0)
        return (f"Waiting for GPU memory: this run needs about {memory_text(need)}, "
                f"{memory_text(best)} is free; it starts when other runs end.")

    def usage(self) -> dict[str, tuple[int, int]]:
        """{gpu: (runs placed, slots)}, for the device picker."""
        with self._lock:
            self._gpus()
            return {gpu: (len(runs), self.per_gpu) for gpu, runs in self._placed.items()}


def short_of_memory(report, config: TrainConfig, data_bytes: int, device) -> str | None:
    """In the run's own process, on its GPU: why it cannot start, when the driver says less
    memory is free than the run needs; None when it fits."""
    need = estimate_gpu_bytes(report, config, data_bytes, context=False)
    free, _ = torch.cuda.mem_get_info(device)
    if need <= free:
        return None
    return (f"{device} has {memory_text(free)} free and this run needs about "
            f"{memory_text(need)}; try again when other runs have ended, or lower the batch size.")


# Below this much arithmetic per training step (forward + backward, about 3x the forward's),
# a GPU step is mostly kernel launches and waiting on the host: the seed CNN (5.3 MFLOP per
# sample) spent the same ~2 ms per step on an H100 at batch 64 (1 GFLOP) as at 1024 (16 GFLOP).
LAUNCH_BOUND_FLOPS = 10e9
BIGGEST_HINTED_BATCH = 1024


def launch_bound_hint(report, batch_size: int) -> str | None:
    """A plain hint when a GPU would mostly wait on kernel launches with this model and batch
    size; None when the step does enough work (or the graph has no FLOP count)."""
    flops = int(report.total_flops or 0)
    step_flops = 3 * flops * batch_size
    if not flops or step_flops >= LAUNCH_BOUND_FLOPS:
        return None
    needed = 2 ** math.ceil(math.log2(LAUNCH_BOUND_FLOPS / (3 * flops)))
    if needed <= BIGGEST_HINTED_BATCH:
        advice = (f"a batch size of {needed} or more keeps it busy (raise the learning rate "
                  "with it)")
    else:
        advice = "the CPU trains a model this small about as fast"
    return (f"This model does little work per step for a GPU (about {step_flops / 1e6:,.0f} "
            f"MFLOP at batch {batch_size}): the GPU mostly waits for the next step, so {advice}.")
