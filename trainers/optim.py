"""Optimizers, the learning-rate schedule, and one parameter update (backward, clip, step)."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from trainers.config import TrainConfig

ONECYCLE_WARMUP = 0.3  # share of the run spent warming up, as in torch's OneCycleLR
ONECYCLE_START = 1 / 25  # starting lr as a share of the peak (OneCycleLR's div_factor)
ADAM_BETA2 = 0.999  # torch's default; beta1 is the config's momentum


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """The share of the base learning rate to use at `step` of `total_steps`.

    A pure function of the step (not a stateful torch scheduler), so changing the base lr on
    resume or extending the epochs simply continues the same curve from where the run is."""
    progress = min(step / max(total_steps, 1), 1.0)
    if schedule == "step":  # divided by 10 after each third of the run
        return 0.1 ** min(int(progress * 3), 2)
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "onecycle":
        if progress < ONECYCLE_WARMUP:
            rise = 0.5 * (1 - math.cos(math.pi * progress / ONECYCLE_WARMUP))
            return ONECYCLE_START + (1 - ONECYCLE_START) * rise
        return 0.5 * (1 + math.cos(math.pi * (progress - ONECYCLE_WARMUP) / (1 - ONECYCLE_WARMUP)))
    return 1.0


# Devices where torch has one fused kernel for the whole Adam/AdamW/SGD update. On the CPU it
# cut Adam's step on the digits MLP from ~360 to ~130 us (torch's default there loops over the
# tensors in Python); on CUDA one kernel replaces the default's several multi-tensor launches.
FUSED_DEVICES = ("cpu", "cuda")


def make_optimizer(params: list[nn.Parameter], config: TrainConfig,
                   device_type: str = "cpu") -> torch.optim.Optimizer:
    fused = {"fused": True} if device_type in FUSED_DEVICES else {}
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov, weight_decay=config.weight_decay, **fused)
    if config.optimizer == "rmsprop":  # no fused kernel; torch uses foreach on CUDA by itself
        return torch.optim.RMSprop(params, lr=config.lr, momentum=config.momentum,
                                   weight_decay=config.weight_decay)
    optimizer_class = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return optimizer_class(params, lr=config.lr, betas=(config.momentum, ADAM_BETA2),
                           weight_decay=config.weight_decay, **fused)


def named_parts(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """(node id, module) per graph node of a GraphModule; (name, child) for any other module."""
    if hasattr(module, "graph") and hasattr(module, "node_module"):
        return [(node.id, module.node_module(node.id)) for node in module.graph.nodes]
    return list(module.named_children())


def parameters_by_node(module: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Trainable parameters grouped by graph node (or child module); nodes without any left out."""
    parts = [(name, part.parameters()) for name, part in named_parts(module)]
    # Weights held by the module itself, not a child (a plain nn.Linear), count under its class.
    parts.append((type(module).__name__, module.parameters(recurse=False)))
    seen: set[int] = set()  # a tied weight is one tensor of two nodes: stepped once, by the first
    groups = {}
    for name, params in parts:
        groups[name] = [p for p in params if p.requires_grad and id(p) not in seen]
        seen.update(map(id, groups[name]))
    return {name: params for name, params in groups.items() if params}


class Updater:
    """One optimizer with its fp16 loss scaler and gradient clipping.

    `update(loss)`: zero grads, backward, let `after_backward(params_by_node)` look at the true
    (unscaled) gradients, clip, step."""

    def __init__(self, module: nn.Module, config: TrainConfig, device: torch.device,
                 after_backward: Callable[[dict], None]):
        self.by_node = parameters_by_node(module)
        self.params = [p for group in self.by_node.values() for p in group]
        if not self.params:
            raise ValueError("the model has no trainable weights: add a layer with parameters "
                             "(Dense, Conv2d, ...)")
        self.optimizer = make_optimizer(self.params, config, device.type)
        # fp16 gradients underflow without loss scaling; bf16 has float32's range and needs none.
        self.scaler = torch.amp.GradScaler(device.type) if config.amp == "fp16" else None
        self.grad_clip = config.grad_clip
        self.after_backward = after_backward

    def update(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        self.after_backward(self.by_node)
        if self.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        if self.scaler is None:
            self.optimizer.step()
        else:
            self.scaler.step(self.optimizer)
            self.scaler.update()

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def apply_config(self, config: TrainConfig) -> None:
        """Take the optimizer settings a resume may have changed (the lr follows the schedule)."""
        for group in self.optimizer.param_groups:
            group["weight_decay"] = config.weight_decay
            if "momentum" in group:
                group["momentum"] = config.momentum
            if "betas" in group:
                group["betas"] = (config.momentum, ADAM_BETA2)
            if "nesterov" in group:
                group["nesterov"] = config.nesterov
        self.grad_clip = config.grad_clip
