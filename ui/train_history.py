"""The Train page's run history: every run of the session in a table, two or more overlaid on one
chart (ReLU vs Sigmoid, SGD vs Adam), and each run's metrics, weights and graph to download."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from builder import load_graph
from trainers.datasets import load_dataset
from trainers.script_export import SUPPORTED_TASKS, training_project_files, zip_project
from ui.kept_widgets import following
from ui.runs import Run, session_runs, setting_history
from viz.training import loss_figure, metric_figure

_OVERLAY = "train.overlay"


def history_panel() -> None:
    runs = session_runs()
    if not runs:
        return
    st.subheader("Runs")
    st.dataframe(_runs_table(runs), hide_index=True)
    if len(runs) >= 2:
        _overlay(runs)
    _downloads(runs)


def _runs_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: what it trained, with which settings, and how it ended up."""
    rows = []
    for run in runs:
        snapshot = run.job.metrics()
        last_epoch = (snapshot.epochs or [{}])[-1]
        changed = setting_history(run.config, snapshot.events)  # "0.003→0.03" after a resume
        rows.append({
            "run": run.number, "status": run.job.status, "graph": run.graph.get("name", ""),
            "dataset": run.dataset, "optimizer": run.config.optimizer, "lr": changed["lr"],
            "batch": run.config.batch_size, "epochs": changed.get("epochs", str(run.config.epochs)),
            "forked from": run.forked_from,
            "val loss": last_epoch.get("val_loss"), "val metric": last_epoch.get("val_metric")})
    return pd.DataFrame(rows)


def _overlay(runs: list[Run]) -> None:
    by_number = {run.number: run for run in runs}
    newest = [run.number for run in runs[-2:]]
    chosen = st.multiselect("Compare runs", list(by_number), key=following(_OVERLAY, newest, by_number),
                            format_func=lambda n: by_number[n].started_as,
                            help="Overlay the curves of two or more runs on one chart.")
    curves = [by_number[n].curves() for n in chosen]
    if not curves:
        return
    loss, metric = st.columns(2)
    loss.plotly_chart(loss_figure(curves, uirevision="overlay.loss"), key="train.overlay.loss")
    if any(c.metric_name for c in curves):
        metric.plotly_chart(metric_figure(curves, uirevision="overlay.metric"),
                            key="train.overlay.metric")


def _downloads(runs: list[Run]) -> None:
    by_number = {run.number: run for run in runs}
    number = st.selectbox("Download from", list(by_number), format_func=lambda n: by_number[n].started_as,
                          key=following("train.download_run", runs[-1].number, by_number))
    run_downloads(by_number[number], key="train.download")


def run_downloads(run: Run, *, key: str) -> None:
    """The run's metrics, weights, graph and training project as download buttons."""
    stem = f"run{run.number}-{run.graph.get('name', 'graph')}"
    metrics, weights, graph = st.columns(3)
    # Files are made only when a button is pressed (deferred), not on every rerun of the page.
    metrics.download_button("Metrics (CSV)", run.job.metrics_csv, f"{stem}-metrics.csv",
                            mime="text/csv", on_click="ignore", icon=":material/table:",
                            width="stretch", key=f"{key}.metrics")
    weights.download_button("Weights (safetensors)", lambda: run.weights_bytes() or b"",
                            f"{stem}.safetensors", on_click="ignore", width="stretch",
                            icon=":material/download:", disabled=not run.job.has_weights(),
                            help="The latest good weights, loadable with safetensors.",
                            key=f"{key}.weights")
    graph.download_button("Graph (JSON)", json.dumps(run.graph, indent=2), f"{stem}.json",
                          mime="application/json", on_click="ignore", width="stretch",
                          icon=":material/account_tree:", key=f"{key}.graph")
    exportable = run.config.task in SUPPORTED_TASKS
    st.download_button("Training project (zip)", lambda: training_project_zip(run, stem), f"{stem}.zip",
                       mime="application/zip", on_click="ignore", icon=":material/rocket_launch:",
                       disabled=not exportable, key=f"{key}.project",
                       help=("model.py, data, settings and a train.py that runs with `python train.py` "
                             "or on many GPUs with `torchrun --nproc_per_node=N train.py`."
                             if exportable else f"Not available for {run.config.task} runs yet: the "
                             f"script trains {', '.join(SUPPORTED_TASKS)} models."))


def training_project_zip(run: Run, root: str) -> bytes:
    """The run as a standalone project: its graph's code, its data split, its settings."""
    bundle = load_dataset(run.dataset, seed=run.config.seed, **run.dataset_options)
    files = training_project_files(load_graph(run.graph), bundle, run.config.model_dump(),
                                   run.config.task)
    return zip_project(files, root=root)
