"""The devices this machine really has, and which speed-ups (AMP, torch.compile) help on each.

A CPU run never asks CUDA anything: on a GPU server a process job's address space is capped
(RLIMIT_AS) before its run starts, and initialising the CUDA driver under that cap fails with
"cudaGetDeviceCount() ... out of memory". So `resolve_device("cpu")` answers without listing
GPUs, and every CUDA query lives in a function only GPU work calls.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch

AUTO_GPU = "cuda"  # TrainConfig.device for "GPU (auto)": the job manager picks the least-loaded cuda:i


class DeviceError(ValueError):
    """A device that is not there, or an option it cannot run."""


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # what TrainConfig.device takes: "cpu", "cuda", "cuda:0", "mps"
    name: str  # for people: "CPU", "NVIDIA H100 80GB HBM3 (79 GiB)"
    memory_bytes: int | None  # None where torch cannot tell (CPU, MPS)
    amp_modes: tuple[str, ...]  # always starts with "off"
    compile: bool  # whether torch.compile is offered


# On the CPU, AMP and torch.compile are not offered: for the small models people build here,
# bf16 autocast on CPU is slower on most processors and compiling costs more than it saves.
CPU = DeviceInfo("cpu", "CPU", None, ("off",), False)


def available_devices() -> list[DeviceInfo]:
    """CPU first, then "GPU (auto)" where there are several GPUs, each CUDA GPU, Apple's MPS."""
    gpus = cuda_devices()
    devices = [CPU]
    if len(gpus) > 1:  # one GPU needs no choosing; several: let the server spread the runs
        common_amp = tuple(m for m in gpus[0].amp_modes if all(m in g.amp_modes for g in gpus))
        devices.append(DeviceInfo(AUTO_GPU, f"GPU (auto: least busy of {len(gpus)})",
                                  min(g.memory_bytes for g in gpus), common_amp,
                                  all(g.compile for g in gpus)))
    devices += gpus
    if torch.backends.mps.is_available():
        devices.append(DeviceInfo("mps", "Apple GPU (MPS)", None, ("off", "fp16"), False))
    return devices


def cuda_devices() -> list[DeviceInfo]:
    """Each CUDA GPU (initialises CUDA in this process: only for GPU work and the device list)."""
    can_compile = importlib.util.find_spec("triton") is not None
    gpus = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        # bf16 needs Ampere or newer; fp16 works on every CUDA GPU torch supports.
        amp = ("off", "bf16", "fp16") if props.major >= 8 else ("off", "fp16")
        name = f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"
        gpus.append(DeviceInfo(f"cuda:{index}", name, props.total_memory, amp, can_compile))
    return gpus


def resolve_device(device: str, amp: str = "off", compile_model: bool = False) -> torch.device:
    """The torch.device for a TrainConfig's device, refusing what this machine cannot do.

    "cuda" (GPU auto) is placed by the job manager; a run given it directly uses cuda:0."""
    wanted = "cuda:0" if device == AUTO_GPU else device
    # "cpu" is answered without a single CUDA call (see the module docstring).
    known = {"cpu": CPU} if wanted == "cpu" else {info.id: info for info in available_devices()}
    if wanted not in known:
        raise DeviceError(f"device {device!r} is not available here; choose one of "
                          f"{', '.join(known)}")
    info = known[wanted]
    if amp not in info.amp_modes:
        raise DeviceError(f"amp {amp!r} is not offered on {wanted}; choose one of "
                          f"{', '.join(info.amp_modes)}")
    if compile_model and not info.compile:
        raise DeviceError(f"torch.compile is not offered on {wanted}; turn 'compile' off")
    return torch.device(wanted)


def prepare_device(device: torch.device) -> None:
    """Per-process settings a run on `device` wants. On CUDA GPUs with TensorFloat-32 (Ampere
    and newer), float32 matmuls and convolutions use it: about 8x the float32 matmul rate of an
    H100 at a 10-bit mantissa, which training does not notice (PyTorch's own advice, and what
    its "TF32 not enabled" warning asks for). The legacy precision API is the one used: mixing
    it with the per-backend one makes torch.compile's precision reads raise."""
    if device.type != "cuda" or torch.cuda.get_device_capability(device) < (8, 0):
        return
    torch.set_float32_matmul_precision("high")
    torch.backends.cudnn.allow_tf32 = True


def gpu_memory_use() -> dict[str, tuple[int, int]]:
    """{"cuda:i": (used bytes, total bytes)} from the driver (every process on the GPU counts);
    {} on a machine without CUDA. Creates a CUDA context per GPU in the calling process."""
    use = {}
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        use[f"cuda:{index}"] = (total - free, total)
    return use
