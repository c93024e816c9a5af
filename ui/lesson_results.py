"""A lesson's runs on the Lessons page: their curves overlaid while they train, then each claim
checked on their histories (and, for claims that probe the networks, on their trained models),
with what a claim on random samples measured drawn beside it."""
from __future__ import annotations

import streamlit as st

from builder import validate
from trainers.datasets import DatasetError
from trainers.eval_budget import EvalTooLarge, guard
from trainers.lessons import Lesson, RunOutcome, check_claim
from trainers.lessons.claims import needs_model
from trainers.lessons.model_measures import random_samples
from ui.runs import Run
from ui.text import escape_markdown
from ui.train_data import dataset_bundle
from viz.images import image_grid_figure
from viz.training import loss_figure, metric_figure

POLL_S = 1.0  # the overlay's refresh while the lesson's runs train
CHART_HEIGHT = 260  # the overlay and the checked claims fit a 1280x720 projector together
SAMPLED = ("sample_distance", "sample_spread")  # claims on these draw each run's random samples
SAMPLES_SHOWN, SAMPLES_COLUMNS = 8, 4
SAMPLES_WIDTH_PX = 250  # one of two columns in the lesson's column (1280 px projector)


def show_results(lesson: Lesson, runs_of) -> None:
    """The lesson's runs (`runs_of(lesson)`: name -> Run) overlaid, refreshed every second while
    any trains; each claim checked once every run has ended."""
    training = not all(run.finished for run in runs_of(lesson).values())
    st.fragment(run_every=POLL_S if training else None)(_results)(lesson, runs_of, training)


def _results(lesson: Lesson, runs_of, training: bool) -> None:
    runs = runs_of(lesson)
    if training and all(run.finished for run in runs.values()):
        st.rerun(scope="app")  # all ended: a full run drops the timer and checks the claims
    curves = [run.curves() for run in runs.values()]
    scored = any(curve.metric_name for curve in curves)  # else the loss takes the whole width
    loss_column, metric_column = st.columns(2) if scored else (st.container(), None)
    figure = loss_figure(curves, uirevision=f"lesson.{lesson.id}.loss")
    loss_column.plotly_chart(figure.update_layout(height=CHART_HEIGHT), key=f"lessons.loss.{lesson.id}")
    if scored:
        figure = metric_figure(curves, uirevision=f"lesson.{lesson.id}.metric")
        metric_column.plotly_chart(figure.update_layout(height=CHART_HEIGHT),
                                   key=f"lessons.metric.{lesson.id}")
    if not all(run.finished for run in runs.values()):
        states = ", ".join(f"{run.name}: {run.job.status}" for run in runs.values())
        st.info(f"Training… {states}. The promise is checked when every run has finished.",
                icon=":material/hourglass_top:")
        return
    probing = needs_model(lesson.claims)
    outcomes = {name: _outcome(run, probing) for name, run in runs.items()}
    for claim in lesson.claims:
        check = check_claim(claim, outcomes)
        text = f"**{escape_markdown(claim.text)}**  \n{escape_markdown(check.message)}"
        if check.holds:
            st.success(text, icon=":material/check_circle:")
        else:
            st.error(text + "  \nRuns differ a little from seed to seed and machine to machine; "
                     "the shipped seed is checked by LayerLoom's tests.", icon=":material/cancel:")
    if any(m.quantity in SAMPLED for c in lesson.claims for m in (c.left, c.right)):
        _random_samples(lesson, runs, outcomes)


def _outcome(run: Run, probing: bool) -> RunOutcome:
    """What a finished run left: its history and size; its model and data when a claim probes
    them (a claim that cannot get them says why instead of holding)."""
    outcome = RunOutcome(run.job.metrics(), validate(run.graph).total_params)
    model = run.job.model_snapshot() if probing else None
    if model is None:
        return outcome
    try:
        data = dataset_bundle(run.dataset, run.dataset_options, run.config.seed)
    except DatasetError:
        return outcome
    return RunOutcome(outcome.snapshot, outcome.params, guard(model), data)


def _random_samples(lesson: Lesson, runs: dict[str, Run], outcomes: dict[str, RunOutcome]):
    """What the sample measures read, seen: what each run's network makes from the same noise."""
    columns = st.columns(len(runs))
    for column, (name, run) in zip(columns, runs.items()):
        outcome = outcomes[name]
        if outcome.model is None:
            continue
        try:
            samples = random_samples(outcome.model, outcome.data, count=SAMPLES_SHOWN)
        except (ValueError, EvalTooLarge) as error:
            column.caption(escape_markdown(f"{run.name}: nothing to draw ({error})"))
            continue
        column.markdown(f"**{escape_markdown(run.name)}**: made from {len(samples)} random codes")
        column.plotly_chart(image_grid_figure(samples.numpy(), columns=SAMPLES_COLUMNS,
                                              width_px=SAMPLES_WIDTH_PX),
                            key=f"lessons.samples.{lesson.id}.{name}")
