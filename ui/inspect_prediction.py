"""The Inspect page's first tab: one test example and what the model makes of it, drawn for its
task (class probabilities, a forecast against the truth, a reconstruction, a discriminator's
verdict) and its kind of input (image, tokens, a row of features, a sequence)."""
from __future__ import annotations

import streamlit as st
import torch

from trainers import probes
from ui.draw_pad import draw_pad
from ui.inspect_source import Subject
from viz import inspect as figures
from viz.datasets import scatter_figure
from viz.images import image_grid_figure
from viz.inputs import feature_bars_figure, forecast_figure, predicted_vs_actual_figure, sequence_figure

GAN_SHOWN = 8  # generated images scored beside the real one
NARROW_PX = 200  # a quarter of the page
INPUT_PX = 260  # the example's column beside its prediction: a third of the page


def prediction_view(subject: Subject, index: int) -> None:
    {"classification": _classification, "regression": _regression, "autoencoder": _reconstruction,
     "vae": _reconstruction, "gan": _discriminator}[subject.task](subject, index)


def show_input(subject: Subject, index: int) -> None:
    """The example itself, drawn as what it is."""
    title = f"Test #{index}"
    if subject.kind == "image":
        st.plotly_chart(image_grid_figure(subject.x[index:index + 1].numpy(), title=title,
                                          width_px=INPUT_PX), key="inspect.sample")
    elif subject.kind == "tokens":
        tokens = subject.tokens(index)
        words = [tokens[i] for i in subject.word_positions(index)]
        st.markdown(f"**{title}:** " + " ".join(f"`{w}`" for w in words))
    elif subject.kind == "table" and subject.x.shape[1] == 2 and subject.task == "classification":
        # a point in the plane, among the others
        figure = scatter_figure(subject.x.numpy(), subject.y.numpy(), subject.class_names, highlight=index)
        figure.update_layout(title=title, margin={"t": 40}, legend={"orientation": "h", "y": -0.3,
                                                                      "yanchor": "top"})
        st.plotly_chart(figure, key="inspect.sample")
    elif subject.kind == "table":
        st.plotly_chart(feature_bars_figure(subject.x[index].numpy(), subject.feature_names, title=title),
                        key="inspect.sample")
    else:
        st.plotly_chart(sequence_figure(subject.x[index].numpy(), title=title), key="inspect.sample")


def _classification(subject: Subject, index: int) -> None:
    left, right = st.columns([1, 2] if subject.kind in ("image", "tokens") else [1, 1])
    with left:
        show_input(subject, index)
    with right:
        probs = probes.predict_proba(subject.model, subject.x[index:index + 1])[0].numpy()
        predicted, truth = int(probs.argmax()), int(subject.y[index])
        verdict = "✅ right" if predicted == truth else "❌ wrong"
        st.markdown(f"**True:** {subject.class_name(truth)} · **Predicted:** "
                    f"{subject.class_name(predicted)} ({probs[predicted]:.0%}) · {verdict}")
        names = [subject.class_name(i) for i in range(len(probs))]
        st.plotly_chart(figures.class_bars_figure(probs, names, title="Class probabilities",
                                                  highlight=predicted), key="inspect.probs")
    if subject.kind == "image" and subject.x.shape[1] == 1:
        _drawing_view(subject)


def _regression(subject: Subject, index: int) -> None:
    predicted = probes.predict(subject.model, subject.x).reshape(len(subject.x), -1)[:, 0].numpy()
    actual = subject.y.reshape(len(subject.y), -1)[:, 0].float().numpy()
    st.markdown(f"**True:** {actual[index]:.3g} · **Predicted:** {predicted[index]:.3g} · "
                f"**Error:** {predicted[index] - actual[index]:+.3g}")
    left, right = st.columns(2)
    with left:
        if subject.kind == "sequence":
            st.plotly_chart(forecast_figure(subject.x[index].numpy(), predicted[index], actual[index],
                                            title=f"Test #{index}: the window and what comes next"),
                            key="inspect.sample")
        else:
            show_input(subject, index)
    with right:
        st.plotly_chart(predicted_vs_actual_figure(predicted, actual, highlight=index), key="inspect.scatter")


def _reconstruction(subject: Subject, index: int) -> None:
    x = subject.x[index:index + 1]
    output = probes.predict(subject.model, x).reshape(x.shape)
    error = float(torch.mean((output - x.float()) ** 2))
    st.markdown(f"**Test #{index}** and the model's reconstruction · mean squared error {error:.4f}")
    if subject.kind == "image":
        st.plotly_chart(image_grid_figure(torch.cat([x, output]).numpy(), columns=2,
                                          captions=["input", "reconstruction"]), key="inspect.recon1")
    else:
        st.plotly_chart(feature_bars_figure(output[0].reshape(-1).numpy(), subject.feature_names,
                                            title="Reconstruction"), key="inspect.recon1")


def _discriminator(subject: Subject, index: int) -> None:
    """A GAN: how real the discriminator finds this test image, and the generator's images."""
    real = subject.x[index:index + 1]
    fakes = probes.generate(subject.model, count=GAN_SHOWN, seed=index)
    scores = probes.realness(subject.model, torch.cat([real, fakes.reshape(-1, *real.shape[1:])])).numpy()
    st.markdown(f"The discriminator finds real test #{index} **{scores[0]:.0%} real**, and the "
                f"generator's images {scores[1:].mean():.0%} real on average (it is fooled when "
                "they score high).")
    left, right = st.columns([1, 3])
    left.plotly_chart(image_grid_figure(real.numpy(), captions=[f"real · {scores[0]:.0%}"],
                                        title=f"Test #{index}", width_px=NARROW_PX), key="inspect.sample")
    right.plotly_chart(image_grid_figure(fakes.numpy(), columns=4,
                                         captions=[f"{s:.0%} real" for s in scores[1:]],
                                         title="Generated from random noise (discriminator's verdict)",
                                         width_px=3 * NARROW_PX),
                       key="inspect.fakes")


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
