"""Images from the webcam, as in Teachable Machine: pick a class, take photos for it (each one is
added at once and the camera is ready for the next), then train and test live with the camera.

The photos are kept in the session (bytes per class) and packed into the same zip of class
folders as uploaded images, so training, the preview and Inspect treat them alike. While another
graph is loaded, the panel offers the template made for them (`cnn_webcam`).
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from builder.templates import list_templates, load_template
from trainers import probes
from trainers.datasets import DatasetError
from trainers.datasets.image_folder import image_to_input, pack_classes
from ui.kept_widgets import kept
from ui.notices import notify
from ui.own_data_store import remember_saved
from ui.runs import session_runs
from ui.state import current_graph, set_graph
from ui.text import escape_markdown
from ui.train_preset import adopt_template_settings
from viz.inspect import class_bars_figure

MAX_CLASSES = 4
MAX_PHOTOS_PER_CLASS = 100
_PHOTOS = "train.camera.photos"  # class index -> [jpeg bytes]
_SHOTS = "train.camera.shots"  # photos taken: the camera widget's key, so it resets after each
WEBCAM_TEMPLATE = "cnn_webcam"


def camera_source():
    """(name, saved zip path) once every class has a photo, else None."""
    photos: dict[int, list[bytes]] = st.session_state.setdefault(_PHOTOS, {})
    with st.expander("Classes"):
        count = int(st.number_input("How many", 2, MAX_CLASSES, 2, key=kept("train.camera.classes")))
        names = [st.text_input(f"Class {index + 1}", f"class {index + 1}",
                               key=kept(f"train.camera.name.{index}")).strip() or f"class {index + 1}"
                 for index in range(count)]
    if current_graph().get("name") != WEBCAM_TEMPLATE:
        _offer_webcam_template(count)
    active = st.segmented_control("Add photos to", range(count), default=0,
                                  format_func=names.__getitem__, key=kept("train.camera.active"))
    shot_key = f"train.camera.shot.{st.session_state.setdefault(_SHOTS, 0)}"
    st.camera_input(f"Take a photo of {names[active or 0]}", key=shot_key,
                    on_change=_keep_photo, args=(shot_key, active or 0))
    st.caption(" · ".join(f"{escape_markdown(name)}: {len(photos.get(i, []))} photos"
                          for i, name in enumerate(names)))
    st.button("Start over", icon=":material/delete:", key="train.camera.clear",
              on_click=photos.clear, disabled=not photos)
    missing = [name for i, name in enumerate(names) if not photos.get(i)]
    if missing:
        st.info(escape_markdown(f"Pick a class and take a few photos of it, then the next: "
                                f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} "
                                "none yet."))
        return None
    if len(set(names)) < count:
        st.error("Two classes have the same name; give every class its own.")
        return None
    classes = {name: [(f"{n}.jpg", data) for n, data in enumerate(photos[i])]
               for i, name in enumerate(names)}
    try:
        data = pack_classes(classes)
    except DatasetError as error:
        st.error(escape_markdown(str(error)))
        return None
    path = remember_saved("images.camera", "your photos", data, ".zip")
    return None if path is None else ("your photos", path)


def _offer_webcam_template(classes: int) -> None:
    title = next(info.title for info in list_templates() if info.name == WEBCAM_TEMPLATE)
    st.info(f"**{title}**: the template made for a few dozen photos per class (32x32 colour, "
            "trains in seconds).", icon=":material/lightbulb:")
    st.button("Use the webcam CNN", key="train.camera.use_template", icon=":material/photo_camera:",
              on_click=_use_webcam_template, args=(classes,))


def _use_webcam_template(classes: int) -> None:
    """Load the webcam CNN with one score per class; the photos and the data picks stay, the
    images follow its Input and the settings its own (a callback: before the widgets draw)."""
    graph = load_template(WEBCAM_TEMPLATE).to_dict()
    next(node for node in graph["nodes"] if node["id"] == "fc")["params"]["out_features"] = classes
    set_graph(graph)
    adopt_template_settings()
    photo = next(node for node in graph["nodes"] if node["type"] == "Input")
    channels, size, _ = photo["params"]["shape"]  # [3, 32, 32]
    st.session_state["train.images.size"] = size
    st.session_state["train.images.channels"] = str(channels)
    notify("success", f"Loaded the webcam CNN with {classes} class scores. The graph you had is "
                      "one click away: “Bring back the previous graph” under Save & share.")


def _keep_photo(key: str, class_index: int) -> None:
    """The camera took a photo: add it to the class and give the next photo a fresh camera."""
    photo = st.session_state.get(key)
    photos = st.session_state.setdefault(_PHOTOS, {}).setdefault(class_index, [])
    if photo is not None and len(photos) < MAX_PHOTOS_PER_CLASS:
        photos.append(photo.getvalue())
    st.session_state[_SHOTS] = st.session_state.get(_SHOTS, 0) + 1


def camera_test(options: dict, bundle) -> None:
    """Once a run has trained on these photos: take a photo and see what it predicts."""
    run = next((run for run in reversed(session_runs()) if run.dataset_options == options), None)
    model = run.job.model_snapshot() if run is not None else None
    if model is None:
        st.caption("Train on these photos, then test the model here with the camera.")
        return
    if not st.toggle(f"Test {run.name} with the camera", key="train.camera.testing"):
        return
    photo = st.camera_input("Show the camera something", key="train.camera.test")
    if photo is None:
        return
    try:
        x = image_to_input(photo.getvalue(), bundle.info.input_shape, fit=options["fit"])
    except DatasetError as error:
        st.error(escape_markdown(str(error)))
        return
    probs = probes.predict_proba(model, torch.from_numpy(x[None]))[0].numpy()
    best = int(np.argmax(probs))
    st.markdown(f"**{escape_markdown(bundle.class_names[best])}** ({probs[best]:.0%})")
    st.plotly_chart(class_bars_figure(probs, bundle.class_names, title="Class probabilities",
                                      highlight=best), key="train.camera.probs")
