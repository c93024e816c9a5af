"""The Train page's live block: the control bar (Start, Fork, Pause, Stop, the progress), then the
newest run's loss, accuracy and decision boundary side by side, so that on a 1280x720 projector
everything watched while a run trains is in one view.

The block is an `st.fragment` that reruns on a timer while the run is queued or training,
reading a snapshot of the job's metrics (the worker never calls Streamlit): every `FIRST_POINT_S`
until the first point is in, so it shows at once, then every `POLL_S`. When the right interval
changes (first point in, run paused, resumed or over), the fragment asks once for a full rerun,
which sets the new timer (or none); the guard is the interval the last full run recorded, so it
cannot loop. Start and Fork sit in the fragment too: a click only files its request, and the
fragment hands it to a full rerun, which starts the run with the settings the page reads then.
"""
from __future__ import annotations

from functools import partial

import streamlit as st

from trainers.config import ConfigError, TrainConfig
from trainers.eval_budget import EvalTooLarge
from trainers.jobs import JobRefused
from trainers.tasks import GAN, make_task
from ui.boundary import boundary_figure
from ui.notices import notify
from ui.runs import NoWeightsYet, Run, fork_run, latest_run, next_to_drop, start_run
from ui.session_lease import SessionFilesFull, limits
from ui.text import escape_markdown
from ui.train_data import CSV_CHOICE, DataChoice, dataset_bundle
from ui.train_history import run_downloads
from viz.training import loss_figure, metric_figure, reconstruction_figure, samples_figure

FIRST_POINT_S = 0.2  # brief: only until the run's first point arrives
POLL_S = 1.0  # then once a second, cheap enough for a classroom of open pages
CHART_HEIGHT = 300  # loss, metric and boundary side by side under the bar fit 1280x720
ACTIVE = ("queued", "running", "paused")
_REQUEST = "layerloom.train_request"  # "start" or "fork", filed by a click, carried out once
_POLLING = "train.polling"
_STATUS_TEXT = {"queued": "waiting for a free slot", "running": "training", "paused": "paused",
                "stopped": "stopped", "finished": "finished", "failed": "failed"}


_DRAWN_TRAINING = "train.setup_folded_for_run"  # training_now() when the page was last drawn


def training_now() -> bool:
    """Whether a run is queued, training or paused, or a click has just asked for one."""
    run = latest_run()
    return st.session_state.get(_REQUEST) is not None or (
        run is not None and run.job.status in ACTIVE)


def setup_starts_open(expander_key: str) -> bool:
    """Fold the page's setup expander when a run starts and open it when the run ends; in between
    the person opens and folds it as they like. A run that ends while the page is drawn makes the
    live block ask for one more full run (`_live_view`), so the setup never stays folded."""
    training = training_now()
    if st.session_state.get(_DRAWN_TRAINING) != training:
        st.session_state[_DRAWN_TRAINING] = training
        st.session_state[expander_key] = not training
    return not training


def carry_out_request(graph: dict, data: DataChoice | None, config: TrainConfig | None,
                      ready: bool, init_state: str | None) -> None:
    """Start a fresh run, or fork the newest run from its latest weights, if a click asked.

    Called after the settings are read, so the run uses the values of this run. (A callback's
    arguments are those of the run before: a setting changed just before the click, e.g. typed
    epochs then Start, would have been left out.)"""
    request = st.session_state.pop(_REQUEST, None)
    if request == "start" and ready:
        _submit(partial(start_run, init_state=init_state), graph, data and data.name,
                data and data.options, config)
    elif request == "fork" and config is not None and latest_run() is not None:
        _submit(fork_run, latest_run(), config)


def _submit(start, *args) -> None:
    """Start the run; a refusal is a notice, as the page runs once more (it folded the settings
    for a run that did not start, and opens them again)."""
    try:
        start(*args)
    except (JobRefused, ConfigError, NoWeightsYet, SessionFilesFull) as refusal:
        notify("error", f"The run could not start: {refusal}")


def live_panel(ready: bool, can_fork: bool) -> None:
    """The control bar and the newest run, refreshed while it trains. `ready`: the graph fits
    the data and settings (Start is enabled); `can_fork`: the settings are valid."""
    run = latest_run()
    interval = _poll_interval(run) if run is not None else None
    st.session_state[_POLLING] = interval
    st.fragment(run_every=interval)(_live_view)(ready, can_fork)


def _poll_interval(run: Run) -> float | None:
    """Seconds between refreshes; None when nothing changes (paused or over)."""
    if run.job.status not in ("queued", "running"):
        return None
    return POLL_S if run.job.progress().step else FIRST_POINT_S


def _live_view(ready: bool, can_fork: bool) -> None:
    run = latest_run()
    if st.session_state.get(_REQUEST) is not None:
        st.rerun(scope="app")  # Start or Fork was clicked here: the full run reads the settings
    if run is not None and _poll_interval(run) != st.session_state.get(_POLLING):
        st.rerun(scope="app")  # first point in, paused, resumed or over: set the new timer
    drawn_training = st.session_state.get(_DRAWN_TRAINING)
    if drawn_training is not None and training_now() != drawn_training:
        st.rerun(scope="app")  # the run ended after the setup was folded: unfold it
    _warn_before_a_drop()
    _control_bar(run, ready, can_fork)
    if run is None:
        st.info("Press **Start training**: the loss and accuracy will appear here as the "
                "network learns.")
        return
    _progress(run)
    if run.job.status == "paused":
        _resume_form(run)
    _charts(run)
    _messages(run)


def _control_bar(run: Run | None, ready: bool, can_fork: bool) -> None:
    """Start, Fork, Pause, Stop in one row, then the run's name and status."""
    with st.container(horizontal=True, vertical_alignment="center", key="train-bar"):
        st.button("Start training", type="primary", disabled=not ready, key="train.start",
                  icon=":material/play_arrow:", on_click=_file_request, args=("start",))
        if run is not None and can_fork and run.job.has_weights():
            st.button(f"Fork {run.name.split(' · ')[0]}", key="train.fork",
                      icon=":material/fork_right:", on_click=_file_request, args=("fork",),
                      help="A new run of that run's graph and data, starting from its latest "
                           "weights, with the settings under Data and settings.")
        status = run.job.status if run is not None else None
        if status == "running":
            st.button("Pause", key="train.pause", icon=":material/pause:", on_click=run.job.pause)
        if status in ACTIVE:
            st.button("Stop", key="train.stop", icon=":material/stop:", on_click=run.job.stop)
        if run is not None:
            st.markdown(f"**{escape_markdown(run.name)}** · {_status_line(run)}")
        if not ready:
            st.markdown(":orange[:material/warning: Start waits for a fix: see **Data and "
                        "settings** below.]")


def _warn_before_a_drop() -> None:
    """At the session's run limit, say which run the next one drops and offer its files first."""
    doomed = next_to_drop()
    if doomed is None:
        return
    with st.container(border=True, key="train.drop_warning"):
        st.warning(escape_markdown(f"Starting another run drops {doomed.name}: this server keeps "
                                   f"{limits().runs_per_session} runs per session. Download its "
                                   "files first if you need them."), icon=":material/warning:")
        run_downloads(doomed, key="train.drop")


def _file_request(kind: str) -> None:
    st.session_state[_REQUEST] = kind


def _status_line(run: Run) -> str:
    """"training", or once over e.g. "finished in 4.2 s · test accuracy 0.968"."""
    text = _STATUS_TEXT[run.job.status]
    result = run.job.result or {}
    if run.job.ended and result.get("seconds") is not None:
        text += f" in {result['seconds']:,.1f} s"
    if result.get("test_metric") is not None:
        text += f" · test {result.get('metric') or 'metric'} {result['test_metric']:.3f}"
    elif result.get("test_loss") is not None:
        text += f" · test loss {result['test_loss']:.4g}"
    return text


def _progress(run: Run) -> None:
    position = run.job.queue_position()
    if position is not None:
        st.info(run.job.queue_reason() or f"The server is busy: this run is number {position} "
                "in the queue and starts as soon as a slot is free.")
        return
    progress = run.job.progress()
    parts = [f"epoch {progress.epoch} of {progress.epochs}"]
    if progress.total_steps:
        parts.append(f"step {progress.step:,} of {progress.total_steps:,}")
    if progress.samples_per_s:
        parts.append(f"{progress.samples_per_s:,.0f} samples/s")
    if progress.eta_s is not None:
        parts.append(f"about {progress.eta_s:,.0f} s left")
    st.progress(progress.fraction, text=" · ".join(parts))


def _resume_form(run: Run) -> None:
    """While paused, the learning rate can change; the change is marked on the chart."""
    current_lr = float((run.job.metrics().last_step or {}).get("lr") or run.config.lr)
    with st.form("train.resume", border=True):
        lr = st.number_input("Learning rate from here on", min_value=1e-6, max_value=10.0,
                             value=current_lr, format="%.6f")
        if st.form_submit_button("Resume", icon=":material/play_arrow:", type="primary"):
            changes = {"lr": lr} if lr != current_lr else None
            try:
                run.job.resume(changes)
            except ConfigError as refusal:
                st.error(escape_markdown(str(refusal)))
                return
            st.rerun(scope="app")


def _messages(run: Run) -> None:
    """Health alerts in plain language (the latest of each kind); a failure with what is kept."""
    latest_of_each_kind = {alert["code"]: alert for alert in run.job.alerts()}
    for alert in latest_of_each_kind.values():
        st.warning(escape_markdown(alert.get("advice", "")),
                   title=escape_markdown(alert["message"]), icon=":material/monitor_heart:")
    ending = (run.job.result or {}).get("message")
    if ending and run.job.status == "finished":  # early stopping, or a pointless run halted
        st.info(escape_markdown(ending), icon=":material/flag:")
    if run.job.status == "failed":
        st.error(escape_markdown(f"The run stopped with an error: {run.job.error}") +
                 "\n\nThe curves are kept above. Under **Runs** you can download the last good "
                 "weights, or fork a new run from them with other settings.",
                 icon=":material/error:")


def _charts(run: Run) -> None:
    """Loss, metric and (2-D classification) decision boundary side by side; samples below."""
    snapshot = run.job.metrics()
    curves = run.curves(snapshot)
    # (key, figure or None until its data is in, what to say meanwhile): the columns are the
    # same from Start to the end, so no chart jumps when the first epoch or weights arrive.
    panels = [("train.live.loss", loss_figure([curves]), "")]
    metric = _metric_name(run.config)
    if metric:
        panels.append(("train.live.metric", metric_figure([curves]) if curves.metric_name else None,
                       f"The {metric.replace('_', ' ')} appears after the first epoch."))
    plane = _plane_data(run)
    if plane is not None:
        try:
            panels.append(("train.live.boundary", _boundary_figure(run, plane),
                           "The decision boundary appears with the run's first weights."))
        except EvalTooLarge as refusal:  # a wide model: the message says what to change
            panels.append(("train.live.boundary", None,
                           escape_markdown(f"No decision boundary: {refusal}")))
    for column, (key, figure, meanwhile) in zip(st.columns(len(panels)), panels):
        if figure is None:
            column.info(meanwhile)
            continue
        figure.update_layout(height=CHART_HEIGHT)
        column.plotly_chart(figure, key=key)
    if snapshot.samples is not None:
        st.plotly_chart(_images_figure(run, snapshot.samples), key="train.live.samples")


def _metric_name(config: TrainConfig) -> str | None:
    """The metric the task reports each epoch (None for autoencoders); a GAN's task is built
    with its model, so its class says it."""
    return GAN.metric_name if config.task == "gan" else make_task(config).metric_name


def _images_figure(run: Run, images):
    """A GAN's samples; or, for autoencoders, the inputs (first half) over their reconstructions."""
    if run.config.task == "gan":
        return samples_figure(images)
    half = len(images) // 2
    return reconstruction_figure(images[:half], images[half:])


def _plane_data(run: Run):
    """The dataset of a classifier of 2-D points (whose boundary can be drawn), else None."""
    if run.config.task != "classification" or run.dataset == CSV_CHOICE:
        return None
    bundle = dataset_bundle(run.dataset, run.dataset_options, seed=run.config.seed)
    return bundle if tuple(bundle.info.input_shape) == (2,) else None


def _boundary_figure(run: Run, bundle):
    """The decision boundary of the run's latest weights; None before the first weights.
    Redrawn only for new weights, at most every few seconds (ui/boundary.py)."""
    return boundary_figure(run, bundle.x_train.numpy(), bundle.y_train.numpy(),
                           bundle.class_names, key="train.live.boundary_drawn")
