"""Your own images on the Train page: a zip of class folders, files picked class by class, or
photos from the webcam (ui/train_own_camera.py).

Every way, the images are saved as one zip in the session's folder and loaded by
`trainers.datasets.image_folder`; size and channels default to the graph's Input, and the fit
check below the preview offers to set the Input to the data's shape otherwise.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from trainers.datasets import DatasetError
from trainers.datasets.image_folder import IMAGE_SUFFIXES, NAME, OPTIONS, pack_classes
from ui.kept_widgets import kept
from ui.own_data_store import kept_upload, remember_saved, session_bundle
from ui.session_lease import limits
from ui.state import current_report
from ui.text import escape_markdown
from ui.train_own_camera import camera_source, camera_test
from viz.images import image_grid_figure

ZIP, PICKED, CAMERA = "A zip of class folders", "Images picked per class", "The webcam"
PER_CLASS = 8  # preview tiles per class row
MAX_PICKED_CLASSES = 10
_IMAGE_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]
_SPECS = {spec.name: spec for spec in OPTIONS}


def images_choice():
    """(dataset options, bundle) of the person's images, or None until some load."""
    how = st.radio("Images from", (ZIP, PICKED, CAMERA), horizontal=True,
                   key=kept("train.images.source"))
    source = {ZIP: _zip_source, PICKED: _picked_source, CAMERA: camera_source}[how]()
    if source is None:
        return None
    name, path = source
    options = {"path": str(path), **_image_options()}
    bundle = session_bundle(NAME, options, name)
    if bundle is None:
        return None
    _class_grid(bundle)
    if how == CAMERA:
        camera_test(options, bundle)
    return options, bundle


def _zip_source():
    upload = st.file_uploader(
        "Zip of class folders", type=["zip"], key="train.images.zip",
        help="One folder per class, named after it: cats/1.jpg, cats/2.png, dogs/1.jpg, … "
             "PNG, JPEG, GIF, BMP, WebP or TIFF.")
    return kept_upload("images.zip", upload, ".zip",
                       "Upload a .zip with one folder of images per class (cats/…, dogs/…).")


def _picked_source():
    """Class names typed here, each with its own multi-file uploader, packed into one zip."""
    count = st.number_input("Classes", 2, MAX_PICKED_CLASSES, 2, key=kept("train.images.classes"))
    classes, missing, total_bytes = {}, [], 0
    for index in range(int(count)):
        left, right = st.columns([1, 3])
        name = left.text_input(f"Class {index + 1}", f"class {index + 1}",
                               key=kept(f"train.images.class_name.{index}"))
        files = right.file_uploader(f"Images of class {index + 1}", type=_IMAGE_TYPES,
                                    accept_multiple_files=True, key=f"train.images.files.{index}",
                                    label_visibility="collapsed")
        total_bytes += sum(file.size for file in files or ())
        classes[name] = [(file.name, file.getvalue()) for file in files or ()]
        if not files:
            missing.append(name)
    if len(missing) == len(classes):  # nothing picked (or the page was left): the earlier set
        return kept_upload("images.picked", None, ".zip",
                           "Name each class and pick a few images for it.")
    if len(classes) < int(count):
        st.error("Two classes have the same name; give every class its own.")
        return None
    if missing:
        st.info(escape_markdown(f"Pick some images for {', '.join(missing)}."))
        return None
    if too_big := limits().check_upload(total_bytes):
        st.error(escape_markdown(too_big))
        return None
    try:
        data = pack_classes(classes)
    except DatasetError as error:
        st.error(escape_markdown(str(error)))
        return None
    path = remember_saved("images.picked", "your images", data, ".zip")
    return None if path is None else ("your images", path)


def _image_options() -> dict:
    """Size, channels and fit; size and channels start from the graph's image Input."""
    size, channels = _graph_input_defaults()
    left, middle, right = st.columns(3)
    size_spec = _SPECS["size"]
    values = {
        "size": int(left.number_input("Size (pixels)", size_spec.min, size_spec.max, size,
                                      key=kept("train.images.size"), help=size_spec.doc)),
        "channels": middle.selectbox("Channels", _SPECS["channels"].choices,
                                     index=_SPECS["channels"].choices.index(channels),
                                     key=kept("train.images.channels"),
                                     format_func=_channels_label, help=_SPECS["channels"].doc),
        "fit": right.selectbox("Fit", _SPECS["fit"].choices, key=kept("train.images.fit"),
                               help=_SPECS["fit"].doc),
    }
    return values


def _channels_label(value: str) -> str:
    return {"auto": "auto", "1": "1 (gray)", "3": "3 (colour)"}[value]


def _graph_input_defaults() -> tuple[int, str]:
    """(size, channels) of the graph's Input when it takes square images, else the defaults."""
    report = current_report()
    node = report.nodes.get(report.input_ids[0]) if report.input_ids else None
    shape = list(node.output_shape) if node is not None and node.output_shape else []
    size_spec = _SPECS["size"]
    if len(shape) == 3 and shape[1] == shape[2] and size_spec.min <= shape[1] <= size_spec.max:
        return shape[1], str(shape[0]) if shape[0] in (1, 3) else "auto"
    return size_spec.default, _SPECS["channels"].default


def _class_grid(bundle) -> None:
    """A row of training images per class, so a wrong folder shows at a glance."""
    labels = bundle.y_train.numpy()
    counts = np.bincount(labels, minlength=len(bundle.class_names))
    per_class = int(max(1, min(PER_CLASS, counts.min())))
    rows = np.concatenate([np.flatnonzero(labels == c)[:per_class]
                           for c in range(len(bundle.class_names))])
    captions = [f"{bundle.class_names[labels[row]]}" if i % per_class == 0 else ""
                for i, row in enumerate(rows)]
    summary = ", ".join(f"{name} {count}" for name, count in zip(bundle.class_names, counts))
    with st.expander(escape_markdown(f"Training images per class ({summary})"), expanded=True):
        st.plotly_chart(image_grid_figure(bundle.x_train[rows].numpy(), columns=per_class,
                                          captions=captions),
                        key="train.images.grid", config={"displayModeBar": False})
