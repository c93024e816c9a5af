"""The Train page's "your own data" choices: images, text, points drawn by hand.

Each kind draws its own inputs and returns `(dataset_options, bundle)` or None; the options name
a file in the session's folder (ui/own_data_store.py), so a run trains on what was previewed.
"""
from __future__ import annotations

from ui import train_own_images, train_own_points, train_own_text

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
