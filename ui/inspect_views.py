"""The Inspect page's views of a model's insides and its mistakes. Each takes the Subject (model
snapshot + test data) and the chosen test example; the probes come from `trainers.probes`, the
figures from `viz`. The first tab's view is in `ui.inspect_prediction`."""
from __future__ import annotations

import numpy as np
import streamlit as st

from trainers import probes
from trainers.eval_budget import rows_that_fit
from ui.boundary import boundary_figure
from ui.inspect_source import Subject
from ui.text import escape_markdown
from viz import inspect as figures
from viz.images import FULL_WIDTH_PX, image_grid_figure
from viz.inputs import feature_bars_figure, sequence_figure

STATS_BATCH = 128  # test examples behind activation statistics
CONVOLUTIONS = ("Conv2d", "ConvTranspose2d")  # the layers that make feature maps


def spatial_nodes(subject: Subject) -> list[str]:
    """Nodes whose output is a stack of 2-D maps in a model with convolutions, the Inputs left
    out (a dense decoder's final Reshape to an image is a picture, not feature maps)."""
    nodes = layer_infos(subject)
    if not any(info.type in CONVOLUTIONS for info in nodes.values()):
        return []
    return [n for n, info in nodes.items()
            if info.output_shape and len(info.output_shape) == 3 and n not in subject.model.input_ids]


def layer_infos(subject: Subject) -> dict:
    """Every layer's NodeInfo in order, those inside blocks by hierarchical id ("layer1.conv1"),
    so a student can pick the convolution inside a block."""
    report = subject.model.report
    return {n: report.nodes.get(n) or report.inner[n] for n in report.layer_ids(list(report.nodes))}


def feature_maps_view(subject: Subject, index: int) -> None:
    """Step through the layers whose output is a stack of 2-D maps; the first layer's filters."""
    spatial = spatial_nodes(subject)
    nodes = layer_infos(subject)
    node = st.select_slider(f"Layer ({len(spatial)} with feature maps: slide to step through them)",
                            spatial, key="inspect.fmap.layer",
                            format_func=lambda n: f"{n} · {nodes[n].type} · "
                                                  + "×".join(map(str, nodes[n].output_shape)))
    maps = probes.feature_maps(subject.model, subject.inputs(subject.x[index:index + 1]), node)
    st.plotly_chart(figures.feature_maps_figure(maps.numpy(), node), key="inspect.fmaps")
    filters = probes.first_layer_filters(subject.model)
    if filters is not None:
        st.plotly_chart(figures.filters_figure(filters[1].numpy(), filters[0]), key="inspect.filters")


def dense_weights_view(subject: Subject) -> None:
    """A dense network on images has no feature maps; its first layer's weights are pictures."""
    node, weights, image_shape = probes.first_dense_on_image(subject.model)
    st.plotly_chart(figures.dense_weights_figure(weights.numpy(), image_shape, node), key="inspect.dense")
    st.caption(f"Each unit of {node} multiplies every pixel by one weight and adds them up: drawn "
               "in the image's shape, its weights show the pattern that excites it most (light) "
               "and the one that silences it (dark).")


def attention_view(subject: Subject, index: int) -> None:
    maps = probes.attention_maps(subject.model, subject.inputs(subject.x[index:index + 1]))
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
    """Which parts of the example moved the prediction, drawn on the example's own shape."""
    x = subject.x[index:index + 1]
    if subject.kind == "tokens":
        shown = subject.word_positions(index) or list(range(x.shape[1]))  # padding hidden
        scores = probes.saliency(subject.model, x).numpy()
        tokens = subject.tokens(index)
        st.plotly_chart(figures.token_saliency_figure([tokens[i] for i in shown], scores[shown]),
                        key="inspect.saliency")
        return
    if subject.kind != "image":
        attribution = probes.saliency(subject.model, x).numpy()
        title = "What the prediction looked at (|gradient| of the score)"
        figure = (feature_bars_figure(attribution, subject.feature_names, title=title, value_title="|gradient|")
                  if subject.kind == "table" else
                  sequence_figure(attribution, title=title, value_title="|gradient|", colorscale="Hot_r"))
        st.plotly_chart(figure, key="inspect.saliency")
        return
    method = st.radio("Method", ["Gradient", "Integrated gradients"], horizontal=True, key="inspect.sal.method",
                      help="Gradient: how much each pixel nudges the score. Integrated gradients: "
                           "gradients averaged from a blank image up to this one (steadier).")
    attribution = (probes.saliency if method == "Gradient" else probes.integrated_gradients)(subject.model, x)
    st.plotly_chart(figures.saliency_figure(x[0].numpy(), attribution.numpy()), key="inspect.saliency")


def internals_view(subject: Subject) -> None:
    """Activation statistics on a batch of test examples, gradient flow and weight histograms."""
    count = rows_that_fit(subject.model, STATS_BATCH)  # every node's output is kept for each
    rows = probes.activation_stats(subject.model, subject.inputs(subject.x[:count]))
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
    left, right = st.columns([3, 2])
    left.plotly_chart(figures.confusion_figure(summary["confusion"], names), key="inspect.confusion")
    right.plotly_chart(figures.class_bars_figure(np.nan_to_num(summary["per_class_accuracy"]), names,
                                                 title="Accuracy per class"), key="inspect.perclass")
    mistakes = summary["mistakes"]
    if not mistakes:
        st.success("No mistakes on the test split.")
    elif subject.is_image:
        captions = [_verdict(subject, m) for m in mistakes]
        # as many tiles a row as their captions leave room for (about 5 px a character)
        columns = max(3, min(8, FULL_WIDTH_PX // (5 * max(map(len, captions)) + 16)))
        st.plotly_chart(image_grid_figure(subject.x[[m["index"] for m in mistakes]].numpy(),
                                          captions=captions, columns=columns, keep_columns=True,
                                          width_px=FULL_WIDTH_PX,
                                          title="Most confident mistakes: true → predicted (confidence)"),
                        key="inspect.mistakes")
    else:
        st.markdown("**Most confident mistakes**, true → predicted (confidence); pick *A mistake* "
                    "above to look at one:\n"
                    + "\n".join(f"- {_example_text(subject, m['index'])}: {_verdict(subject, m)}"
                                 for m in mistakes))


def _verdict(subject: Subject, mistake: dict) -> str:
    return (f"{subject.class_name(mistake['true'])} → {subject.class_name(mistake['predicted'])} "
            f"({mistake['confidence']:.0%})")


def _example_text(subject: Subject, index: int) -> str:
    if subject.kind != "tokens":
        return f"test #{index}"
    tokens = subject.tokens(index)
    return f"test #{index} “{escape_markdown(' '.join(tokens[i] for i in subject.word_positions(index)))}”"


def boundary_view(subject: Subject) -> None:
    figure = boundary_figure(subject.run, subject.x.numpy(), subject.y.numpy(),
                             subject.class_names, key="inspect.boundary_drawn")
    st.plotly_chart(figure, key="inspect.boundary")
