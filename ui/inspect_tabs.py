"""Which Inspect tabs a run gets: only views that have something to show for its task, its kind
of input and its layers, each drawing a figure that fits them."""
from __future__ import annotations

from collections.abc import Callable

from trainers import probes
from ui.inspect_generative import generative_view
from ui.inspect_prediction import prediction_view
from ui.inspect_source import Subject
from ui.inspect_views import (attention_view, boundary_view, classification_view, dense_weights_view,
                              feature_maps_view, internals_view, layer_infos, saliency_view,
                              spatial_nodes)

ATTENTION_TYPES = ("MultiheadAttention", "TransformerEncoderLayer")


def inspect_tabs(subject: Subject, index: int) -> dict[str, Callable[[], None]]:
    """Tab label -> its view, in the order shown; "Prediction" comes first."""
    task, types = subject.task, {info.type for info in layer_infos(subject).values()}
    tabs = {"Prediction": lambda: prediction_view(subject, index)}
    if task == "gan" or (task in ("autoencoder", "vae") and subject.kind == "image"):
        tabs["Generated"] = lambda: generative_view(subject, index)
    if spatial_nodes(subject):
        tabs["Feature maps"] = lambda: feature_maps_view(subject, index)
    elif probes.first_dense_on_image(subject.model) is not None:
        tabs["First-layer weights"] = lambda: dense_weights_view(subject)
    if types & set(ATTENTION_TYPES):
        tabs["Attention"] = lambda: attention_view(subject, index)
    if task in ("classification", "regression") and (subject.kind != "tokens" or "Embedding" in types):
        tabs["Saliency"] = lambda: saliency_view(subject, index)
    tabs["Activations & gradients"] = lambda: internals_view(subject)
    if task == "classification":
        tabs["Mistakes"] = lambda: classification_view(subject)
        if subject.kind == "table" and subject.x.shape[1] == 2:
            tabs["Decision boundary"] = lambda: boundary_view(subject)
    return tabs
