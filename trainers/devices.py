"""The devices this machine really has, and which speed-ups (AMP, torch.compile) help on each."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch


class DeviceError(ValueError):
    """A device that is not there, or an option it cannot run."""


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # what TrainConfig.device takes: "cpu", "cuda:0", "mps"
    name: str  # for people: "CPU", "NVIDIA H100 80GB HBM3 (79 GiB)"
    memory_bytes: int | None  # None where torch cannot tell (CPU, MPS)
    amp_modes: tuple[str, ...]  # always starts with "off"
    compile: bool  # whether torch.compile is offered


def available_devices() -> list[DeviceInfo]:
    """CPU first, then each CUDA GPU, then Apple's MPS.

    On the CPU, AMP and torch.compile are not offered: for the small models people build here,
    bf16 autocast on CPU is slower on most processors and compiling costs more than it saves."""
    devices = [DeviceInfo("cpu", "CPU", None, ("off",), False)]
    can_compile = importlib.util.find_spec("triton") is not None
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        # bf16 needs Ampere or newer; fp16 works on every CUDA GPU torch supports.
        amp = ("off", "bf16", "fp16") if props.major >= 8 else ("off", "fp16")
        name = f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"
        devices.append(DeviceInfo(f"cuda:{index}", name, props.total_memory, amp, can_compile))
    if torch.backends.mps.is_available():
        devices.append(DeviceInfo("mps", "Apple GPU (MPS)", None, ("off", "fp16"), False))
    return devices


def resolve_device(device: str, amp: str = "off", compile_model: bool = False) -> torch.device:
    """The torch.device for a TrainConfig's device, refusing what this machine cannot do."""
    wanted = "cuda:0" if device == "cuda" else device
    known = {info.id: info for info in available_devices()}
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
