"""The Train page's data panel: pick a dataset (or upload a CSV), see a preview, and learn at once
whether the graph fits it — with a one-click fix when the graph core knows one."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from trainers.datasets import DatasetError, list_datasets, load_dataset, preview
from trainers.datasets.suggest import DataSuggestion, fitting_data, safe_fit_problems
from trainers.datasets.tabular import header_names
from ui.build_actions import apply_fix_to_session
from ui.kept_widgets import kept
from ui.lesson import is_hidden, is_locked
from ui.session_lease import SessionFilesFull, limits, save_session_file
from ui.state import current_graph, current_report
from ui.text import escape_markdown
from ui.train_own_data import OWN_DATA, own_data_choice, own_data_label
from ui.train_preset import graph_template, start_dataset, start_options, start_task
from viz.datasets import (examples_frame, image_samples_figure, preview_kind, scatter_figure,
                          sequence_figure)

CSV_CHOICE = "csv"  # trainers.datasets loads an uploaded table under this name
_CSV_BUNDLE = "train.csv_bundle"
_LAST_CSV = "train.last_csv"  # (file name, where this session keeps its bytes)


@dataclass(frozen=True)
class DataChoice:
    """What the person picked: a catalog name and its options, or an uploaded CSV's bundle."""
    name: str
    options: dict = field(default_factory=dict)
    info: object = None  # trainers DatasetInfo (with the real input shape for these options)
    bundle: object = None  # the loaded DatasetBundle, for the preview and the fit check

    @property
    def task(self) -> str:
        return self.info.task


def data_panel() -> DataChoice | None:
    """Dataset picker, options and preview; None when nothing usable is picked yet."""
    st.subheader("Data")
    catalog = {info.name: info for info in list_datasets()}
    names = list(catalog) + [CSV_CHOICE, *OWN_DATA]
    default = _default_dataset(names)
    if is_hidden("dataset"):
        name = default
        st.markdown(f"**Dataset:** {escape_markdown(_dataset_label(catalog.get(name)))} (set by the lesson)")
    else:
        name = st.selectbox("Dataset", names, index=names.index(default), key=kept("train.dataset"),
                            format_func=lambda n: (own_data_label(n) if n in OWN_DATA
                                                   else _dataset_label(catalog.get(n))),
                            help="The examples the network learns from.", disabled=is_locked("dataset"))
    choice = (_csv_choice() if name == CSV_CHOICE else _own_choice(name) if name in OWN_DATA
              else _catalog_choice(catalog[name]))
    if choice is not None:
        _show_preview(choice)
    return choice


def default_task(choice: DataChoice | None) -> str:
    """The task the lesson or the graph's template sets, else what the data suggests."""
    return start_task(choice.task if choice is not None else "classification")


def _default_dataset(names: list[str]) -> str:
    """The lesson's or the template's dataset (ui/train_preset.py), else the first."""
    start = start_dataset()
    return start if start in names else names[0]


def _dataset_label(info) -> str:
    return "Upload a CSV file…" if info is None else info.title  # online sets say "(download)"


def _own_choice(name: str) -> DataChoice | None:
    """People's own images, text or points (ui/train_own_data.py)."""
    loaded = own_data_choice(name)
    return None if loaded is None else DataChoice(name, loaded[0], loaded[1].info, loaded[1])


def _catalog_choice(info) -> DataChoice | None:
    st.caption(escape_markdown(info.description))
    options = _option_inputs(info)
    try:
        bundle = dataset_bundle(info.name, options)
    except DatasetError as error:  # e.g. a download while offline: it names the offline sets
        st.error(escape_markdown(str(error)))
        return None
    return DataChoice(info.name, options, bundle.info, bundle)


def _option_inputs(info) -> dict:
    """One input per dataset option (size, noise, ...), tucked into an expander; they start at
    the values the graph's template declares for this dataset."""
    if not info.options:
        return {}
    values, start = {}, start_options(info.name)
    with st.expander("Dataset options"):
        for spec in info.options:
            key = kept(f"train.option.{info.name}.{spec.name}")
            default = start.get(spec.name, spec.default)
            label = spec.name.replace("_", " ").capitalize()
            if spec.kind == "choice":
                values[spec.name] = st.selectbox(label, spec.choices, help=spec.doc, key=key,
                                                 index=list(spec.choices).index(default))
            elif spec.kind == "bool":
                values[spec.name] = st.checkbox(label, default, help=spec.doc, key=key)
            else:
                number = int if spec.kind == "int" else float
                values[spec.name] = st.number_input(
                    label, value=number(default), help=spec.doc, key=key,
                    min_value=None if spec.min is None else number(spec.min),
                    max_value=None if spec.max is None else number(spec.max))
    return values


def dataset_bundle(name: str, options: dict, seed: int = 0):
    """A built-in dataset with these options, as a run with this seed loads it; shared
    server-wide."""
    return _load_catalog(name, tuple(sorted(options.items())), seed)


@st.cache_resource(show_spinner="Preparing the dataset…", max_entries=32)
def _load_catalog(name: str, options: tuple, seed: int):
    """Built-in datasets are read-only and deterministic, so one copy serves every session."""
    return load_dataset(name, seed=seed, **dict(options))


def _csv_choice() -> DataChoice | None:
    upload = st.file_uploader("CSV file", type=["csv"], key="train.csv",
                              help="One row per example, one column per feature, with a header.")
    source = _csv_source(upload)
    if source is None:
        return None
    name, path = source
    data = path.read_bytes()
    try:
        columns = _csv_columns(data)
    except DatasetError as error:
        st.error(escape_markdown(f"{name}: {error}"))
        return None
    if not columns:
        st.error(escape_markdown(f"{name}: no header row with column names could be read "
                                 "(is it a UTF-8 CSV file?)."))
        return None
    target = st.selectbox("Column to predict", columns, index=len(columns) - 1,
                          key=kept("train.target"))
    task = st.radio("Kind of answer", ["auto", "classification", "regression"], horizontal=True,
                    key=kept("train.csv_task"),
                    help="Classification predicts a category; regression predicts a number.")
    # Runs load the table from a file kept for this session, exactly as the preview does here.
    options = {"path": str(path), "target": target, "task": task}
    try:
        bundle = _session_csv(options)
    except DatasetError as error:
        st.error(escape_markdown(f"{name}: {error}"))
        return None
    return DataChoice(CSV_CHOICE, options, bundle.info, bundle)


def _csv_source(upload) -> tuple[str, Path] | None:
    """(file name, where this session keeps it) of the table: the new upload, else the one
    uploaded earlier in this session (Streamlit empties a file uploader whenever the person
    visits another page)."""
    if upload is not None:
        refusal, path = limits().check_upload(upload.size), None
        if refusal is None:
            try:
                path = save_session_file(upload.getvalue(), ".csv")
            except SessionFilesFull as full:
                refusal = str(full)
        if path is None:
            st.error(escape_markdown(f"{upload.name}: {refusal}"))
            return None
        st.session_state[_LAST_CSV] = (upload.name, str(path))
        return upload.name, path
    name, path = st.session_state.get(_LAST_CSV, (None, None))
    if path is None or not Path(path).exists():
        st.info("Upload a CSV file with a header row, then pick the column to predict.")
        return None
    st.caption(f"Using {escape_markdown(name)}, uploaded earlier; upload another file to replace it.")
    return name, Path(path)


def _session_csv(options: dict):
    """The uploaded table as a bundle, parsed once per file and choice of target and task."""
    key = tuple(sorted(options.items()))
    cached = st.session_state.get(_CSV_BUNDLE)
    if cached is None or cached[0] != key:
        cached = (key, load_dataset(CSV_CHOICE, **options))
        st.session_state[_CSV_BUNDLE] = cached
    return cached[1]


def _csv_columns(data: bytes) -> list[str]:
    """The header's column names; empty when the bytes are not a readable CSV header.
    DatasetError for a header too wide to offer (checked on its first line alone)."""
    first_line = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    header_names(first_line)  # DatasetError for a header too wide to offer
    try:
        header = pd.read_csv(io.BytesIO(data), nrows=0, encoding="utf-8")
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError):
        return []
    return [str(name) for name in header.columns]


def _show_preview(choice: DataChoice) -> None:
    bundle, info = choice.bundle, choice.info
    st.caption(f"Input {list(info.input_shape)} · {len(bundle.x_train):,} training, "
               f"{len(bundle.x_val):,} validation, {len(bundle.x_test):,} test examples")
    kind = preview_kind(info.input_shape, info.input_dtype)
    if kind == "scatter":  # every point: the shape of the cloud is the point of a 2-D set
        figure = scatter_figure(bundle.x_train, bundle.y_train, bundle.class_names)
        st.plotly_chart(figure, key="train.preview")
        return
    examples = preview(bundle)
    if kind == "image":
        st.plotly_chart(image_samples_figure(examples["x"], examples["labels"]),
                        key="train.preview", config={"displayModeBar": False})
    elif kind == "sequence":
        st.plotly_chart(sequence_figure(examples["x"], examples["y"]), key="train.preview")
    else:
        st.dataframe(examples_frame(examples), hide_index=True, height=250)


def graph_fits(choice: DataChoice | None, config) -> bool:
    """Whether the session's graph can train on this data. When it cannot: first the datasets
    and tasks it fits as it is (one click switches), then each reason, with a button only where
    the fix really leads to a graph that fits (trainers.datasets.suggest)."""
    if choice is None or config is None:
        return False
    report = current_report()
    problems = safe_fit_problems(current_graph(), report, choice.info, config.task)
    if not problems and not report.valid:
        st.warning(f"The graph has {len(report.problems)} problem(s) to fix on the Build page "
                   "before it can train.")
        return False
    if problems:
        _switch_buttons(report, choice.name, config.task)
    for index, problem in enumerate(problems):
        st.error(escape_markdown(problem.message))  # the message names the node and field
        if problem.fix is not None:
            st.button(problem.fix.label, key=f"train.fix.{index}", on_click=apply_fix_to_session,
                      args=(problem.fix,), icon=":material/build:")
    return not problems


MAX_SWITCHES = 2  # a couple of clear choices, not the whole catalog


def _switch_buttons(report, dataset: str, task: str) -> None:
    """One button per dataset (and task) the graph fits unchanged, the template's first; none
    for a choice a teacher's lesson locks or hides."""
    template = graph_template()
    preferred = DataSuggestion(template.dataset, template.task) if template else None
    choices = [choice for choice in fitting_data(report, list_datasets(include_online=False),
                                                 task, preferred)
               if _may_change("dataset", choice.dataset != dataset)
               and _may_change("task", choice.task != task)]
    if not choices:
        return
    st.info("This graph fits other data as it is:", icon=":material/lightbulb:")
    for index, choice in enumerate(choices[:MAX_SWITCHES]):
        st.button(_switch_label(choice, dataset, task), key=f"train.switch.{index}", type="primary",
                  on_click=_switch_to, args=(choice,), icon=":material/swap_horiz:")


def _may_change(control: str, changes: bool) -> bool:
    return not changes or not (is_locked(control) or is_hidden(control))


def _switch_label(choice: DataSuggestion, dataset: str, task: str) -> str:
    if choice.dataset == dataset:
        return f"Switch task to {choice.task}"
    switch = f"Switch dataset to {choice.dataset}"
    return switch if choice.task == task else f"{switch} with the {choice.task} task"


def _switch_to(choice: DataSuggestion) -> None:
    """Set the Train page's dataset and task pickers (a callback: before they are drawn)."""
    st.session_state["train.dataset"] = choice.dataset
    st.session_state["train.task"] = choice.task
