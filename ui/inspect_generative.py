"""Inspect views for generative models: reconstructions, samples and a latent interpolation."""
from __future__ import annotations

import streamlit as st
import torch

from trainers import probes
from trainers.eval_budget import rows_that_fit
from ui.inspect_source import Subject
from viz.images import FULL_WIDTH_PX, image_grid_figure
from viz.training import reconstruction_figure, samples_figure

SHOWN = 8  # inputs shown with their reconstructions


def generative_view(subject: Subject, index: int) -> None:
    model = subject.model
    count = rows_that_fit(model, 16)  # a wide model shows fewer samples, within the server's budget
    if subject.task == "gan":
        samples = probes.generate(model, count=count).numpy()
        st.plotly_chart(samples_figure(samples, width_px=FULL_WIDTH_PX), key="inspect.gan")
        return
    originals = subject.x[index:index + min(SHOWN, count)]
    with torch.no_grad():
        reconstructions = model(originals)
    st.plotly_chart(reconstruction_figure(originals.numpy(), reconstructions.numpy(),
                                          width_px=FULL_WIDTH_PX), key="inspect.recon")
    if subject.task == "vae":
        st.plotly_chart(samples_figure(probes.sample_prior(model, originals, count=count).numpy(),
                                       title="Decoded from random points of the latent space",
                                       width_px=FULL_WIDTH_PX),
                        key="inspect.prior")
    other = st.number_input("Interpolate towards test example", 0, len(subject.x) - 1,
                            (index + 1) % len(subject.x), key="inspect.interp.to")
    path = probes.interpolate(model, subject.x[index:index + 1], subject.x[other:other + 1],
                              steps=max(2, min(8, count)))
    st.plotly_chart(image_grid_figure(path.numpy(), columns=8, width_px=FULL_WIDTH_PX,
                                      title=f"From #{index} to #{other} through the latent "
                                            f"'{probes.latent_node(model)}'"),
                    key="inspect.interp")
