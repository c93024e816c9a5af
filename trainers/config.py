"""Training settings: what a run does (TrainConfig) and everything a worker needs to start one (RunSpec).

Every field carries bounds and a one-line explanation (`field_help`) that the Train page shows
beside its control. `default_config(task)` gives settings that work for each task out of the box.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Task = Literal["classification", "regression", "autoencoder", "vae", "gan"]
TASKS: tuple[str, ...] = Task.__args__

# Settings that may change while a run is paused (resume with overrides). Batch size, task, device
# and the like would need a new run: fork instead.
RESUMABLE_FIELDS = frozenset({"lr", "momentum", "nesterov", "weight_decay", "grad_clip", "epochs",
                              "early_stopping_patience"})


class ConfigError(ValueError):
    """Bad settings; the message names every offending field."""


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Task = Field("classification", description=(
        "What the network learns: labels (classification), numbers (regression), to copy its input "
        "(autoencoder, vae) or to make new samples (gan)."))
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] = Field("adam", description=(
        "How weights move downhill. Adam is a safe start; SGD with momentum is the classic."))
    lr: float = Field(1e-3, gt=0, le=10, description=(
        "Learning rate: the size of each step. Too big and the loss jumps around or explodes; too "
        "small and it barely moves."))
    momentum: float = Field(0.9, ge=0, lt=1, description=(
        "How much of the previous step carries over, smoothing the path (for Adam/AdamW this is "
        "beta1: 0.9 usually, 0.5 for GANs, whose target moves as the other network learns)."))
    nesterov: bool = Field(False, description=(
        "SGD only: look ahead along the momentum before computing the gradient."))
    batch_size: int = Field(64, ge=1, le=65536, description=(
        "Examples per step. Bigger batches give smoother but fewer steps per epoch; a GPU needs "
        "big ones (256 and up) to be faster than the CPU."))
    epochs: int = Field(10, ge=1, le=10000, description="Passes over the whole training set.")
    weight_decay: float = Field(0.0, ge=0, le=1, description=(
        "Pulls weights toward zero each step, a simple guard against overfitting."))
    scheduler: Literal["none", "step", "cosine", "onecycle"] = Field("none", description=(
        "How the learning rate changes over the run: constant, divided by 10 every third of the "
        "run, a smooth cosine decay, or a warm-up then decay (one-cycle)."))
    early_stopping_patience: int = Field(0, ge=0, le=1000, description=(
        "Stop when the validation loss has not improved for this many epochs and keep the best "
        "weights (0 = off)."))
    grad_clip: float = Field(0.0, ge=0, le=1e6, description=(
        "Caps the total gradient norm of each step, which tames exploding gradients (0 = off)."))
    regression_loss: Literal["mse", "mae"] = Field("mse", description=(
        "Regression only: mean squared error punishes big misses harder; mean absolute error is "
        "calmer about outliers."))
    beta: float = Field(1.0, ge=0, le=100, description=(
        "VAE only: weight of the KL term that pulls every code toward a standard normal. Lower "
        "gives sharper reconstructions; too high and every input gets the same blurry code."))
    augment: bool = Field(False, description=(
        "Image datasets: randomly shift, flip and add noise to training images each step."))
    seed: int = Field(0, ge=0, le=2**31 - 1, description=(
        "Fixes the random start (weights, shuffling) so a run can be repeated exactly."))
    device: str = Field("cpu", pattern=r"^(cpu|mps|cuda(:\d+)?)$", description=(
        "Where the maths runs: the CPU, an NVIDIA GPU (cuda:0, ...) or an Apple GPU (mps)."))
    amp: Literal["off", "bf16", "fp16"] = Field("off", description=(
        "GPU only: compute in 16-bit floats (mixed precision). Pays off for big layers and "
        "batches; small models gain nothing and can get slower. bf16 needs no loss scaling."))
    compile: bool = Field(False, description=(
        "GPU only: let torch.compile fuse the model's operations. The first epoch waits while it "
        "compiles (10-30 s), and small models gain nothing: worth it for long runs of big models."))

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError("nesterov needs optimizer 'sgd' with momentum above 0")
        return self


class RunSpec(BaseModel):
    """Everything a worker (thread or process) needs to start a run; plain and picklable."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    graph: dict = Field(description="The graph JSON (as a dict) to compile and train.")
    dataset: str = Field(description="A catalog dataset name, e.g. 'digits'.")
    dataset_options: dict = Field(default_factory=dict, description="Options for load_dataset.")
    config: TrainConfig = Field(default_factory=TrainConfig)
    init_state: str | None = Field(None, description=(
        "A safetensors weights file to start from (fork or resume), or None for a fresh start."))


_TASK_DEFAULTS: dict[str, dict] = {
    "classification": {"lr": 3e-3},  # small networks on small sets learn faster than at 1e-3
    "regression": {"epochs": 20},
    "autoencoder": {"epochs": 15},
    # The reconstruction is the squared error summed over pixels: a Gaussian likelihood with
    # variance 0.5, far wider than pixels in [0, 1] vary, so at beta 1 the KL term wins and every
    # digit gets the same code (posterior collapse). beta 0.1 is that likelihood at variance 0.05.
    "vae": {"epochs": 60, "lr": 3e-3, "beta": 0.1},
    # Adam with beta1 0.5 as in DCGAN: with 0.9 the generator chased a discriminator that had
    # moved on, and all 16 samples collapsed into one blob (measured: docs/templates.md).
    "gan": {"lr": 1e-3, "momentum": 0.5, "epochs": 100},
}


# A GPU step costs about the same at batch 64 as at 256 (kernel launches, not maths, take the
# time: the seed CNN's epoch on an H100 took 2.0 s at 64 and 0.44 s at 256), so GPU runs start
# with bigger batches.
GPU_BATCH_SIZE = 256


def default_batch_size(device: str) -> int:
    return GPU_BATCH_SIZE if device.startswith("cuda") else TrainConfig.model_fields[
        "batch_size"].default


def default_config(task: str, **overrides) -> TrainConfig:
    """Sensible settings for `task` (and its device: bigger batches on a GPU), with `overrides`
    applied (validated)."""
    if task not in _TASK_DEFAULTS:
        raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    device_defaults = {"batch_size": default_batch_size(str(overrides.get("device", "cpu")))}
    return make_config(task=task, **{**device_defaults, **_TASK_DEFAULTS[task], **overrides})


def make_config(**values) -> TrainConfig:
    """TrainConfig(**values), raising ConfigError whose message names each bad field."""
    try:
        return TrainConfig(**values)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err)) from None


def apply_overrides(config: TrainConfig, overrides: dict) -> tuple[TrainConfig, dict]:
    """The config with `overrides` applied and the fields that really changed ({field: new value}).

    Only RESUMABLE_FIELDS may change mid-run; anything else is refused with its name."""
    refused = sorted(set(overrides) - RESUMABLE_FIELDS)
    if refused:
        raise ConfigError(f"cannot change {', '.join(refused)} while a run is paused; "
                          f"fork a new run instead (changeable: {', '.join(sorted(RESUMABLE_FIELDS))})")
    updated = make_config(**{**config.model_dump(), **overrides})
    changes = {k: v for k, v in overrides.items() if getattr(config, k) != getattr(updated, k)}
    return updated, changes


def field_help(name: str) -> str:
    """The one-line explanation of a TrainConfig field, for the UI."""
    return TrainConfig.model_fields[name].description or ""


def describe_validation_error(err: ValidationError) -> str:
    """One line per problem: 'field: message (got value)'."""
    lines = []
    for problem in err.errors():
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if not where:  # a rule across fields: its message names them
            lines.append(message)
            continue
        got = f" (got {problem['input']!r})" if problem["type"] != "missing" else ""
        lines.append(f"{where}: {message}{got}")
    return "; ".join(lines)
