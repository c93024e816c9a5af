"""The Train page's settings panel: task, device and hyperparameters, each with its one-line
explanation from `trainers.config`, and defaults that suit the task.

Every widget key includes the task, so switching task brings up that task's defaults (a GAN
wants a smaller learning rate) while the values typed for each task are remembered.
"""
from __future__ import annotations

import streamlit as st

from trainers.config import (TASKS, ConfigError, TrainConfig, default_batch_size, default_config,
                             field_help, make_config)
from trainers.devices import DeviceInfo, available_devices, gpu_memory_use
from trainers.gpu import launch_bound_hint, memory_text
from ui.kept_widgets import kept
from ui.lesson import is_hidden, is_locked
from ui.state import current_report
from ui.text import escape_markdown
from ui.train_preset import start_settings

LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0)
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle")


def settings_panel(default_task: str) -> TrainConfig | None:
    """The run's settings, or None (with the reason shown) when they do not add up."""
    st.subheader("Settings")
    task = _setting(st.selectbox, "Task", "task", TASKS, index=TASKS.index(default_task),
                    key=kept("train.task"), fallback=default_task)
    defaults = _defaults(task)
    values = {"task": task, **_device_inputs(task, defaults)}
    values |= _core_inputs(task, defaults, values["device"])
    if values["device"].startswith("cuda") and (
            hint := launch_bound_hint(current_report(), values["batch_size"])):
        st.caption(escape_markdown(hint))
    with st.expander("More settings"):
        values |= _more_inputs(task, defaults, values["optimizer"])
    try:
        return make_config(**values)
    except ConfigError as error:
        st.error(escape_markdown(f"These settings do not work together: {error}"))
        return None


def _device_inputs(task: str, defaults: TrainConfig) -> dict:
    """The device, plus AMP and torch.compile only where that device offers them."""
    devices = {device.id: device for device in available_devices()}
    ids = list(devices)
    device_id = _setting(st.selectbox, "Device", "device", ids, key=_key(task, "device"),
                         index=ids.index(defaults.device) if defaults.device in ids else 0,
                         format_func=lambda d: _device_label(devices[d]), fallback=ids[0])
    device = devices[device_id]
    values = {"device": device_id, "amp": "off", "compile": False}
    if len(device.amp_modes) > 1:
        values["amp"] = st.selectbox("Mixed precision (AMP)", device.amp_modes,
                                     key=_key(task, "amp"), help=field_help("amp"))
    if device.compile:
        values["compile"] = st.checkbox("torch.compile", key=_key(task, "compile"),
                                        help=field_help("compile"))
    return values


@st.cache_data(ttl=2, show_spinner=False)
def _gpu_memory_use() -> dict[str, tuple[int, int]]:
    return gpu_memory_use()


def _device_label(device: DeviceInfo) -> str:
    """The device's name, and for a GPU how much of its memory is in use right now."""
    if not device.id.startswith("cuda:"):
        return device.name
    used, total = _gpu_memory_use().get(device.id, (0, device.memory_bytes or 0))
    return f"{device.name} · {memory_text(used)} of {memory_text(total)} in use"


def _core_inputs(task: str, defaults: TrainConfig, device: str) -> dict:
    """What people change most: optimizer, learning rate, batch size (its own default and
    remembered value on a GPU), epochs."""
    left, right = st.columns(2)
    optimizer = _setting(left.selectbox, "Optimizer", "optimizer", OPTIMIZERS, defaults=defaults,
                         index=OPTIMIZERS.index(defaults.optimizer), key=_key(task, "optimizer"))
    epochs = _setting(right.number_input, "Epochs", "epochs", 1, 10_000, defaults.epochs,
                      defaults=defaults, key=_key(task, "epochs"))
    lr = _setting(st.select_slider, "Learning rate", "lr", _with(LEARNING_RATES, defaults.lr),
                  defaults.lr, defaults=defaults, key=_key(task, "lr"), format_func=lambda v: f"{v:g}")
    gpu = device.startswith("cuda")
    batch_default = (defaults.batch_size if "batch_size" in start_settings(task)
                     else default_batch_size(device))
    batch_size = _setting(st.select_slider, "Batch size", "batch_size",
                          _with(BATCH_SIZES, batch_default), batch_default, defaults=defaults,
                          key=_key(task, "batch_size.gpu" if gpu else "batch_size"))
    return {"optimizer": optimizer, "lr": lr, "batch_size": batch_size, "epochs": epochs}


def _more_inputs(task: str, defaults: TrainConfig, optimizer: str) -> dict:
    """The rest, each shown only where it applies (Nesterov for SGD, beta for a VAE, ...)."""
    values = {}
    label = "Momentum (Adam's β1)" if optimizer in ("adam", "adamw") else "Momentum"
    values["momentum"] = _setting(st.slider, label, "momentum", 0.0, 0.99, defaults.momentum,
                                  0.01, defaults=defaults, key=_key(task, "momentum"))
    if optimizer == "sgd":
        values["nesterov"] = _setting(st.checkbox, "Nesterov momentum", "nesterov", defaults.nesterov,
                                      defaults=defaults, key=_key(task, "nesterov"))
    values["weight_decay"] = _setting(st.number_input, "Weight decay", "weight_decay", 0.0, 1.0,
                                      defaults.weight_decay, 1e-4, format="%.4f", defaults=defaults,
                                      key=_key(task, "weight_decay"))
    values["scheduler"] = _setting(st.selectbox, "Learning-rate schedule", "scheduler", SCHEDULERS,
                                   index=SCHEDULERS.index(defaults.scheduler), defaults=defaults,
                                   key=_key(task, "scheduler"))
    values["early_stopping_patience"] = _setting(
        st.number_input, "Early stopping patience (epochs)", "early_stopping_patience", 0, 1000,
        defaults.early_stopping_patience, defaults=defaults, key=_key(task, "patience"))
    values["grad_clip"] = _setting(st.number_input, "Gradient clipping", "grad_clip", 0.0, 1e6,
                                   defaults.grad_clip, 0.5, defaults=defaults, key=_key(task, "grad_clip"))
    if task == "regression":
        values["regression_loss"] = _setting(st.radio, "Regression loss", "regression_loss",
                                             ("mse", "mae"), horizontal=True, defaults=defaults,
                                             key=_key(task, "regression_loss"))
    if task == "vae":
        values["beta"] = _setting(st.number_input, "KL weight (β)", "beta", 0.0, 100.0,
                                  defaults.beta, 0.05, defaults=defaults, key=_key(task, "beta"))
    values["augment"] = _setting(st.checkbox, "Augment images", "augment", defaults.augment,
                                 defaults=defaults, key=_key(task, "augment"))
    values["seed"] = _setting(st.number_input, "Seed", "seed", 0, 2**31 - 1, defaults.seed,
                              defaults=defaults, key=_key(task, "seed"))
    return values


def _defaults(task: str) -> TrainConfig:
    """The task's defaults with the template's recommended settings and a teacher's lesson
    settings on top (ui/train_preset.py), when they fit the task."""
    try:
        return default_config(task, **start_settings(task))
    except ConfigError as error:
        st.warning(escape_markdown(f"The template's or lesson's settings do not fit the task '{task}': {error}"))
        return default_config(task)


def _setting(widget, label: str, name: str, *args, defaults: TrainConfig | None = None,
             fallback=None, **kwargs):
    """One settings control with its explanation, as a teacher's lesson wants it: drawn but
    disabled when locked, not drawn at all when hidden (the lesson's or the default value holds)."""
    if is_hidden(name):
        return getattr(defaults, name) if defaults is not None else fallback
    return widget(label, *args, help=field_help(name), disabled=is_locked(name), **kwargs)


def _key(task: str, setting: str) -> str:
    """One widget key per task and setting, remembered across pages."""
    return kept(f"train.{task}.{setting}")


def _with(choices: tuple, value) -> list:
    """The slider's stops, including `value` when it is not one of them."""
    return sorted(set(choices) | {value})
