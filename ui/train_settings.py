"""The Train page's settings panel: task, device and hyperparameters, each with its one-line
explanation from `trainers.config`, and defaults that suit the task.

Every widget key includes the task, so switching task brings up that task's defaults (a GAN
wants a smaller learning rate) while the values typed for each task are remembered.
"""
from __future__ import annotations

import streamlit as st

from trainers.config import TASKS, ConfigError, TrainConfig, default_config, field_help, make_config
from trainers.devices import available_devices
from ui.kept_widgets import kept
from ui.text import escape_markdown

LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0)
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle")


def settings_panel(default_task: str) -> TrainConfig | None:
    """The run's settings, or None (with the reason shown) when they do not add up."""
    st.subheader("Settings")
    task = st.selectbox("Task", TASKS, index=TASKS.index(default_task), key=kept("train.task"),
                        help=field_help("task"))
    defaults = default_config(task)
    values = {"task": task, **_device_inputs(task), **_core_inputs(task, defaults)}
    with st.expander("More settings"):
        values |= _more_inputs(task, defaults, values["optimizer"])
    try:
        return make_config(**values)
    except ConfigError as error:
        st.error(escape_markdown(f"These settings do not work together: {error}"))
        return None


def _device_inputs(task: str) -> dict:
    """The device, plus AMP and torch.compile only where that device offers them."""
    devices = {device.id: device for device in available_devices()}
    device_id = st.selectbox("Device", list(devices), key=_key(task, "device"),
                             format_func=lambda d: devices[d].name, help=field_help("device"))
    device = devices[device_id]
    values = {"device": device_id, "amp": "off", "compile": False}
    if len(device.amp_modes) > 1:
        values["amp"] = st.selectbox("Mixed precision (AMP)", device.amp_modes,
                                     key=_key(task, "amp"), help=field_help("amp"))
    if device.compile:
        values["compile"] = st.checkbox("torch.compile", key=_key(task, "compile"),
                                        help=field_help("compile"))
    return values


def _core_inputs(task: str, defaults: TrainConfig) -> dict:
    """What people change most: optimizer, learning rate, batch size, epochs."""
    left, right = st.columns(2)
    optimizer = left.selectbox("Optimizer", OPTIMIZERS, key=_key(task, "optimizer"),
                               index=OPTIMIZERS.index(defaults.optimizer),
                               help=field_help("optimizer"))
    epochs = right.number_input("Epochs", 1, 10_000, defaults.epochs, key=_key(task, "epochs"),
                                help=field_help("epochs"))
    lr = st.select_slider("Learning rate", _with(LEARNING_RATES, defaults.lr), defaults.lr,
                          key=_key(task, "lr"), format_func=lambda v: f"{v:g}",
                          help=field_help("lr"))
    batch_size = st.select_slider("Batch size", _with(BATCH_SIZES, defaults.batch_size),
                                  defaults.batch_size, key=_key(task, "batch_size"),
                                  help=field_help("batch_size"))
    return {"optimizer": optimizer, "lr": lr, "batch_size": batch_size, "epochs": epochs}


def _more_inputs(task: str, defaults: TrainConfig, optimizer: str) -> dict:
    """The rest, each shown only where it applies (momentum for SGD/RMSprop, ...)."""
    values = {}
    if optimizer in ("sgd", "rmsprop"):
        values["momentum"] = st.slider("Momentum", 0.0, 0.99, defaults.momentum, 0.01,
                                       key=_key(task, "momentum"), help=field_help("momentum"))
    if optimizer == "sgd":
        values["nesterov"] = st.checkbox("Nesterov momentum", defaults.nesterov,
                                         key=_key(task, "nesterov"), help=field_help("nesterov"))
    values["weight_decay"] = st.number_input(
        "Weight decay", 0.0, 1.0, defaults.weight_decay, 1e-4, format="%.4f",
        key=_key(task, "weight_decay"), help=field_help("weight_decay"))
    values["scheduler"] = st.selectbox("Learning-rate schedule", SCHEDULERS,
                                       index=SCHEDULERS.index(defaults.scheduler),
                                       key=_key(task, "scheduler"), help=field_help("scheduler"))
    values["early_stopping_patience"] = st.number_input(
        "Early stopping patience (epochs)", 0, 1000, defaults.early_stopping_patience,
        key=_key(task, "patience"), help=field_help("early_stopping_patience"))
    values["grad_clip"] = st.number_input("Gradient clipping", 0.0, 1e6, defaults.grad_clip, 0.5,
                                          key=_key(task, "grad_clip"), help=field_help("grad_clip"))
    if task == "regression":
        values["regression_loss"] = st.radio("Regression loss", ("mse", "mae"), horizontal=True,
                                             key=_key(task, "regression_loss"),
                                             help=field_help("regression_loss"))
    values["augment"] = st.checkbox("Augment images", defaults.augment, key=_key(task, "augment"),
                                    help=field_help("augment"))
    values["seed"] = st.number_input("Seed", 0, 2**31 - 1, defaults.seed, key=_key(task, "seed"),
                                     help=field_help("seed"))
    return values


def _key(task: str, setting: str) -> str:
    """One widget key per task and setting, remembered across pages."""
    return kept(f"train.{task}.{setting}")


def _with(choices: tuple, value) -> list:
    """The slider's stops, including `value` when it is not one of them."""
    return sorted(set(choices) | {value})
