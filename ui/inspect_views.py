"""The Inspect page's views. Each takes the Subject (model snapshot + test data) and the chosen
test example; the probes come from `trainers.probes`, the figures from `viz`."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from trainers import probes
from trainers.eval_budget import rows_that_fit
from ui.draw_pad import draw_pad
from ui.inspect_source import Subject
from viz import inspect as figures
from viz.images import image_grid_figure
from viz.training import decision_boundary_figure

STATS_BATCH = 128  # test examples behind activation statistics
MISTAKE_COLUMNS = 4  # wide tiles: their captions ("horizontal bar 97%") must not run together


def prediction_view(subject: Subject, index: int) -> None:
    """The example, its label, the model's prediction and every class's probability."""
    x = subject.x[index:index + 1]
    left, right = st.columns([1, 2])
    with left:
        _show_input(subject, index)
    with right:
        if subject.task == "classification":
            probs = probes.predict_proba(subject.model, x)[0].numpy()
            predicted = int(probs.argmax())
            truth = int(subject.y[index])
            verdict = "✅ right" if predicted == truth else "❌ wrong"
            st.markdown(f"**True:** {subject.class_name(truth)} · **Predicted:** "
                        f"{subject.class_name(predicted)} ({probs[predicted]:.0%}) · {verdict}")
            names = [subject.class_name(i) for i in range(len(probs))]
            st.plotly_chart(figures.class_bars_figure(probs, names, title="Class probabilities",
                                                      highlight=predicted), key="inspect.probs")
        else:
            with torch.no_grad():
                output = subject.model(x)
            output = output[0] if isinstance(output, tuple) else output
            st.write("Model output:", np.round(output[0].float().numpy(), 4).tolist(),
                     "· target:", np.round(np.asarray(subject.y[index]), 4).tolist())
    if subject.is_image and subject.task == "classification" and subject.x.shape[1] == 1:
        _drawing_view(subject)


def _show_input(subject: Subject, index: int) -> None:
    if subject.is_image:
        st.plotly_chart(image_grid_figure(subject.x[index:index + 1].numpy(), title=f"Test #{index}"),
                        key="inspect.sample")
    elif subject.is_tokens:
        tokens = subject.tokens(index)
        words = [tokens[i] for i in subject.word_positions(index)]
        st.markdown(f"**Test #{index}:** " + " ".join(f"`{w}`" for w in words))
    elif subject.x.dim() == 2:  # one value per feature: a short table, a row each
        st.dataframe(pd.DataFrame({"value": subject.x[index].numpy()},
                                  index=subject.feature_names or range(subject.x.shape[1])))
    else:  # a sequence: one row per step
        st.dataframe(pd.DataFrame(subject.x[index].numpy()), height=180)


def _drawing_view(subject: Subject) -> None:
    st.subheader("Draw your own")
    height, width = subject.x.shape[-2:]
    pad, result = st.columns([1, 2])
    with pad:
        pixels = draw_pad(int(height), int(width), key="inspect.draw")
    with result:
        if pixels is None:
            st.caption("Draw in the box (white ink on black, like the training images); the "
                       "prediction updates after every stroke.")
            return
        probs = probes.predict_proba(subject.model, torch.from_numpy(pixels)[None, None])[0].numpy()
        names = [subject.class_name(i) for i in range(len(probs))]
        st.plotly_chart(figures.class_bars_figure(probs, names, highlight=int(probs.argmax()),
                                                  title=f"Your drawing looks like: {names[probs.argmax()]}"),
                        key="inspect.draw.probs")


def feature_maps_view(subject: Subject, index: int) -> None:
    """Step through the layers whose output is a stack of 2-D maps; the first layer's filters."""
    spatial = [n for n, info in subject.model.report.nodes.items()
               if info.output_shape and len(info.output_shape) == 3 and n not in subject.model.input_ids]
    if not spatial:
        st.info("This model has no layer with 2-D feature maps (convolutions make them).")
        return
    nodes = subject.model.report.nodes
    node = st.select_slider(f"Layer ({len(spatial)} with feature maps: slide to step through them)",
                            spatial, key="inspect.fmap.layer",
                            format_func=lambda n: f"{n} · {nodes[n].type} · "
                                                  + "×".join(map(str, nodes[n].output_shape)))
    maps = probes.feature_maps(subject.model, (subject.x[index:index + 1],), node)
    st.plotly_chart(figures.feature_maps_figure(maps.numpy(), node), key="inspect.fmaps")
    filters = probes.first_layer_filters(subject.model)
    if filters is not None:
        st.plotly_chart(figures.filters_figure(filters[1].numpy(), filters[0]), key="inspect.filters")


def attention_view(subject: Subject, index: int) -> None:
    maps = probes.attention_maps(subject.model, (subject.x[index:index + 1],))
    if not maps:
        st.info("This model has no attention layer (MultiheadAttention or TransformerEncoderLayer).")
        return
    tokens = subject.tokens(index) if subject.is_tokens else [str(t) for t in range(subject.x.shape[1])]
    shown = list(range(len(tokens)))
    if subject.is_tokens and len(subject.word_positions(index)) < len(tokens):
        if st.toggle("Hide padding", True, key="inspect.attn.words",
                     help="The padding tokens only fill the sentence up to its fixed length, yet "
                          "the model still gives them some attention: with them hidden, the "
                          "weights shown are unchanged, so a row may sum to less than 1."):
            shown = subject.word_positions(index)
    for node, weights in maps.items():
        st.plotly_chart(figures.attention_figure(weights[:, shown][:, :, shown].numpy(),
                                                 [tokens[i] for i in shown], node),
                        key=f"inspect.attn.{node}")


def saliency_view(subject: Subject, index: int) -> None:
    x = subject.x[index:index + 1]
    if subject.is_tokens:
        scores = probes.saliency(subject.model, x)
        st.plotly_chart(figures.token_saliency_figure(subject.tokens(index), scores.numpy()),
                        key="inspect.saliency")
        return
    if not subject.is_image:
        st.info("Saliency maps are drawn for image and text inputs.")
        return
    method = st.radio("Method", ["Gradient", "Integrated gradients"], horizontal=True, key="inspect.sal.method",
                      help="Gradient: how much each pixel nudges the score. Integrated gradients: "
                           "gradients averaged from a blank image up to this one (steadier).")
    attribution = (probes.saliency if method == "Gradient" else probes.integrated_gradients)(subject.model, x)
    st.plotly_chart(figures.saliency_figure(x[0].numpy(), attribution.numpy()), key="inspect.saliency")


def internals_view(subject: Subject) -> None:
    """Activation statistics on a batch of test examples, gradient flow and weight histograms."""
    count = rows_that_fit(subject.model, STATS_BATCH)  # every node's output is kept for each
    rows = probes.activation_stats(subject.model, (subject.x[:count],))
    st.plotly_chart(figures.activation_stats_figure(rows), key="inspect.stats")
    st.caption(f"Over the first {min(count, len(subject.x))} test examples. A unit after a "
               "ReLU counts as dead when none of them makes it positive.")
    grad_norms = subject.run.job.metrics().grad_norms
    if grad_norms:
        st.plotly_chart(figures.gradient_flow_figure(grad_norms), key="inspect.grads")
    else:
        st.caption("Gradient norms appear after the run's first epoch.")
    weights = {name: p.detach().numpy() for name, p in subject.model.named_parameters() if p.dim() >= 2}
    st.plotly_chart(figures.weight_histogram_figure(weights), key="inspect.weights")
    st.caption("These are the run's latest weights only: runs keep their newest weights, not a "
               "history, so there is no histogram per epoch to step through.")


def classification_view(subject: Subject) -> None:
    summary = probes.classification_summary(subject.model, subject.x, subject.y)
    names = [subject.class_name(i) for i in range(len(summary["confusion"]))]
    st.metric("Test accuracy", f"{summary['accuracy']:.1%}")
    left, right = st.columns(2)
    left.plotly_chart(figures.confusion_figure(summary["confusion"], names), key="inspect.confusion")
    right.plotly_chart(figures.class_bars_figure(np.nan_to_num(summary["per_class_accuracy"]), names,
                                                 title="Accuracy per class"), key="inspect.perclass")
    mistakes = summary["mistakes"]
    if not mistakes:
        st.success("No mistakes on the test split.")
    elif subject.is_image:
        st.plotly_chart(image_grid_figure(subject.x[[m["index"] for m in mistakes]].numpy(),
                                          captions=[f"{subject.class_name(m['predicted'])} {m['confidence']:.0%}"
                                                    for m in mistakes],
                                          columns=MISTAKE_COLUMNS,
                                          title="Most confident mistakes (predicted, confidence)"),
                        key="inspect.mistakes")
    else:
        st.dataframe(pd.DataFrame([{**m, "true": subject.class_name(m["true"]),
                                    "predicted": subject.class_name(m["predicted"])} for m in mistakes]))


def boundary_view(subject: Subject) -> None:
    def predict(points: np.ndarray) -> np.ndarray:
        return probes.predict_proba(subject.model, torch.from_numpy(points)).argmax(dim=1).numpy()

    st.plotly_chart(decision_boundary_figure(subject.x.numpy(), subject.y.numpy(), predict,
                                             class_names=subject.class_names), key="inspect.boundary")
