"""Your own sentences on the Train page: a CSV with a text column and a label column.

The table is saved in the session's folder and loaded by `trainers.datasets.text_table`; the
length starts from the graph's token Input, and the fit check offers the rest (the Input's
length, enough Embedding rows for the vocabulary). A graph that reads no token ids (the digits
MLP) is offered the text templates instead, sized for these texts.
"""
from __future__ import annotations

import csv
import io

import pandas as pd
import streamlit as st

from builder.templates import list_templates, load_template
from trainers.datasets import DatasetInfo
from trainers.datasets.text_table import NAME, OPTIONS
from ui.kept_widgets import kept
from ui.notices import notify
from ui.own_data_store import kept_upload, session_bundle
from ui.state import current_report, set_graph
from ui.text import escape_markdown
from ui.train_preset import adopt_template_settings

_SPECS = {spec.name: spec for spec in OPTIONS}
TEXT_TEMPLATES = ("lstm_text", "transformer_text")


def text_choice():
    """(dataset options, bundle) of the person's texts, or None until they load."""
    upload = st.file_uploader("CSV with a text column and a label column", type=["csv"],
                              key="train.text.csv",
                              help="One row per example, e.g. review,mood — the label is a "
                                   "category such as happy or sad.")
    source = kept_upload("text.csv", upload, ".csv",
                         "Upload a CSV file with one column of text and one of labels.")
    if source is None:
        return None
    name, path = source
    header = _header(path.read_bytes())
    if header is None or len(header.columns) < 2:
        st.error(escape_markdown(f"{name}: no header row with at least two columns could be read "
                                 "(is it a UTF-8 CSV file?)."))
        return None
    columns = [str(column) for column in header.columns]
    text_index = _longest_text_column(header)
    left, right = st.columns(2)
    text = left.selectbox("Text column", columns, index=text_index, key=kept("train.text.text"))
    others = [column for column in columns if column != text]
    label = right.selectbox("Label column", others, index=len(others) - 1,
                            key=kept("train.text.label"))
    length_spec, vocab_spec = _SPECS["max_length"], _SPECS["max_vocab"]
    left, right = st.columns(2)
    options = {
        "path": str(path), "text": text, "label": label,
        "max_length": int(left.number_input("Tokens per text", length_spec.min, length_spec.max,
                                            _graph_length(), key=kept("train.text.max_length"),
                                            help=length_spec.doc)),
        "max_vocab": int(right.number_input("Vocabulary size", vocab_spec.min, vocab_spec.max,
                                            vocab_spec.default, key=kept("train.text.max_vocab"),
                                            help=vocab_spec.doc)),
    }
    bundle = session_bundle(NAME, options, name)
    if bundle is None:
        return None
    if _token_input_length() is None:
        _offer_text_templates(bundle.info)
    return options, bundle


def _offer_text_templates(info: DatasetInfo) -> None:
    titles = {template.name: template.title for template in list_templates()}
    st.info("This graph does not read words (token ids). These templates do; each loads sized for "
            "your texts:", icon=":material/lightbulb:")
    for column, name in zip(st.columns(len(TEXT_TEMPLATES)), TEXT_TEMPLATES):
        column.button(titles[name], key=f"train.text.use.{name}", width="stretch",
                      icon=":material/text_fields:", on_click=_use_text_template,
                      args=(name, titles[name], info))


def _use_text_template(name: str, title: str, info: DatasetInfo) -> None:
    """Load a text template reading `info`'s token ids: its Input as long as the texts, an
    Embedding row per word of the vocabulary, one score per label (a callback: before the
    widgets draw). The data picks stay, the settings become the template's."""
    graph = load_template(name).to_dict()
    fed = {edge["source"] for edge in graph["edges"]}
    for node in graph["nodes"]:
        if node["type"] == "Input":
            node["params"]["shape"] = list(info.input_shape)  # [max_length]
        elif node["type"] == "Embedding":
            node["params"]["num_embeddings"] = info.vocab_size
        elif node["type"] == "Linear" and node["id"] not in fed:  # the class scores
            node["params"]["out_features"] = info.num_classes
    set_graph(graph)
    adopt_template_settings()
    notify("success", f"Loaded the {title} for your texts: "
                      f"{info.num_classes} labels, {info.vocab_size} words. The graph you had is "
                      "one click away: “Bring back the previous graph” under Save & share.")


def _header(data: bytes) -> pd.DataFrame | None:
    """The first rows (enough to guess which column holds the text); None if unreadable."""
    try:
        return pd.read_csv(io.BytesIO(data), nrows=50, encoding="utf-8-sig", sep=None,
                           engine="python")
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, csv.Error):
        return None


def _longest_text_column(rows: pd.DataFrame) -> int:
    """The column whose values are the longest text: most likely the sentences."""
    lengths = [rows[column].astype(str).str.len().mean() if rows[column].dtype == object else 0
               for column in rows.columns]
    return max(range(len(lengths)), key=lengths.__getitem__)


def _graph_length() -> int:
    """The graph's token Input length when it takes token ids, else the default."""
    spec, length = _SPECS["max_length"], _token_input_length()
    return spec.default if length is None else min(max(length, spec.min), spec.max)


def _token_input_length() -> int | None:
    """The length of the graph's token-id Input; None for a graph that reads no token ids."""
    report = current_report()
    node = report.nodes.get(report.input_ids[0]) if report.input_ids else None
    if node is not None and node.dtype == "long" and len(node.output_shape or ()) == 1:
        return int(node.output_shape[0])
    return None
