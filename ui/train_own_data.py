"""The Train page's "your own data" choices: images, text, points drawn by hand.

Each kind draws its own inputs and returns `(dataset_options, bundle)` or None; the options name
a file in the session's folder (ui/own_data_store.py), so a run trains on what was previewed.
"""
from __future__ import annotations

import math

import streamlit as st

from ui import train_own_images, train_own_points, train_own_text
from ui.lesson import is_hidden, is_locked

_KINDS = {  # dataset name -> (what the picker shows, the inputs)
    train_own_images.NAME: ("Your images (zip of class folders, or pick files)…",
                            train_own_images.images_choice),
    train_own_text.NAME: ("Your texts (CSV: a text column and a label column)…",
                          train_own_text.text_choice),
    train_own_points.NAME: ("Your points (click a plane, as in TensorFlow Playground)…",
                            train_own_points.points_choice),
}
OWN_DATA = tuple(_KINDS)


def own_data_label(name: str) -> str:
    return _KINDS[name][0]


def own_data_choice(name: str):
    """The inputs for own-data kind `name`; (options, bundle) once something loads, else None."""
    return _KINDS[name][1]()


MIN_STEPS = 50  # fewer optimizer steps than this leave a small set's model half-trained


def few_steps_hint(choice, config) -> None:
    """A person's few dozen examples make one or two batches per epoch, so settings made for a
    catalog set take only a handful of steps: offer the epochs that make MIN_STEPS."""
    if choice is None or config is None or choice.name not in OWN_DATA:
        return
    steps_per_epoch = math.ceil(len(choice.bundle.x_train) / config.batch_size)
    if steps_per_epoch * config.epochs >= MIN_STEPS or is_locked("epochs") or is_hidden("epochs"):
        return
    epochs = math.ceil(MIN_STEPS / steps_per_epoch)
    st.info(f"{len(choice.bundle.x_train)} training examples in batches of {config.batch_size} "
            f"make {steps_per_epoch} step{'s' if steps_per_epoch > 1 else ''} per epoch: "
            f"{config.epochs} epochs are only {steps_per_epoch * config.epochs} steps, too few "
            "to learn much.", icon=":material/lightbulb:")
    st.button(f"Train for {epochs} epochs", key="train.more_epochs", on_click=_set_epochs,
              args=(config.task, epochs), icon=":material/update:")


def _set_epochs(task: str, epochs: int) -> None:
    st.session_state[f"train.{task}.epochs"] = epochs  # ui/train_settings.py's key
