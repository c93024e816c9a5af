"""The Build page's ways in and out: save/load JSON, share links, and model export.

Exported ONNX / .pt2 files are written to the session's folder on disk (`ui.session_lease.session_folder`,
removed with the session) and read only when downloaded, so a class's exports do not sit in the
server's memory; an edit to the graph deletes the previous graph's files.
"""
import hashlib
import json
import os
import re
from pathlib import Path

import streamlit as st

from builder import GraphError, Report, load_graph, to_python_code
from trainers.eval_budget import EvalTooLarge, slot
from trainers.export_process import export_in_process
from trainers.limits import MB
from ui import share
from ui.build_actions import bring_back_previous_graph, upload_refusal
from ui.graph_input import MAX_GRAPH_BYTES, describe_problems
from ui.session_lease import limits, session_folder
from ui.state import previous_graph
from ui.text import escape_markdown

UPLOAD_KEY = "build.upload"
# (graph JSON, {format: file path or why it could not be made}), for the current graph only
_EXPORTED = "layerloom.exported_files"
_REQUESTED = "layerloom.export_requested"  # the format whose Build button was just clicked
# Binary exports: (format key, button label, file suffix).
BINARY_EXPORTS = (("onnx", "ONNX", ".onnx"), ("pt2", "torch.export (.pt2)", ".pt2"))


def save_and_load_panel(graph: dict) -> None:
    """Download the graph as JSON; open a JSON file (checked; a bad one leaves the graph as is)."""
    save, load = st.columns(2)
    with save:
        st.markdown("**Save**")
        st.download_button("Download graph JSON", json.dumps(graph, indent=2),
                           file_name=f"{file_stem(graph)}.json", mime="application/json",
                           icon=":material/save:", on_click="ignore")
        if previous_graph() is not None:
            st.button("Bring back the previous graph", icon=":material/undo:",
                      help="Swap back to the graph that the last template, file, link or fix "
                           "replaced.", on_click=bring_back_previous_graph)
    with load:
        st.file_uploader("Open a graph JSON file", type=["json"], key=UPLOAD_KEY,
                         max_upload_size=max(1, MAX_GRAPH_BYTES // 1_000_000),
                         help="A file saved from LayerLoom or written by hand in the graph format.")
        refusal = upload_refusal(UPLOAD_KEY)
        if refusal:
            st.error(escape_markdown(refusal))
    st.divider()


def share_panel(graph: dict) -> None:
    """A link that opens a copy of this graph on any machine that can reach this server."""
    st.markdown("**Share link**")
    token = share.encode_graph(graph)
    if len(token) > share.MAX_TOKEN_CHARS:
        st.warning(f"This graph is too large for a link ({len(token):,} characters; at most "
                   f"{share.MAX_TOKEN_CHARS:,}). Download the JSON file and share that instead.")
        return
    st.code(share.share_url(st.context.url or "", token), language=None, wrap_lines=True)
    st.caption("The link carries the whole graph; whoever opens it gets their own copy. Later "
               "edits do not change a link you have already shared.")


def export_panel(graph: dict, report: Report) -> None:
    """The generated PyTorch code to read and download, and ONNX / torch.export files."""
    if not report.valid:
        st.info("Export needs a graph without problems; fix the problems listed above first.")
        return
    try:
        code = to_python_code(load_graph(graph))
    except GraphError as error:
        st.error(escape_markdown(f"The code could not be generated: {describe_problems(error)}"))
        return
    stem = file_stem(graph)
    python_column, *binary_columns = st.columns(1 + len(BINARY_EXPORTS))
    python_column.download_button("Download PyTorch code (.py)", code, file_name=f"{stem}.py",
                                  mime="text/x-python", icon=":material/code:", on_click="ignore")
    for column, export in zip(binary_columns, BINARY_EXPORTS):
        with column:
            _binary_export(graph, stem, *export)
    st.code(code, language="python", line_numbers=True)


def _binary_export(graph: dict, stem: str, fmt: str, label: str, suffix: str) -> None:
    """A button that builds the file once per graph (tracing takes seconds), then its download.

    The click only files the request; the file is built here, where its spinner shows.
    """
    files = _exported_files(graph)
    if st.session_state.get(_REQUESTED) == fmt:
        del st.session_state[_REQUESTED]
        if fmt not in files:
            with st.spinner(f"Tracing the model for {label}..."):
                files[fmt] = _export_file(fmt, graph, suffix)
    if fmt not in files:
        st.button(f"Build {label} file", key=f"build.export.{fmt}", icon=":material/build:",
                  on_click=_request_export, args=(fmt,))
    result = files.get(fmt)
    if isinstance(result, str):
        st.warning(escape_markdown(f"{label}: {result}"))
    elif result is not None:  # read from disk only when downloaded
        st.download_button(f"Download {label}", result.read_bytes, file_name=f"{stem}{suffix}",
                           mime="application/octet-stream", key=f"build.download.{fmt}",
                           icon=":material/download:", on_click="ignore")


def _request_export(fmt: str) -> None:
    st.session_state[_REQUESTED] = fmt


def _exported_files(graph: dict) -> dict:
    """The files already built for this exact graph; any edit starts afresh (and deletes them)."""
    content = json.dumps(graph, sort_keys=True)
    cached = st.session_state.get(_EXPORTED)
    if cached is None or cached[0] != content:
        for built in (cached[1].values() if cached else ()):
            if isinstance(built, Path):
                built.unlink(missing_ok=True)
        cached = (content, {})
        st.session_state[_EXPORTED] = cached
    return cached[1]


def _export_file(fmt: str, graph: dict, suffix: str) -> Path | str:
    """The exported file in the session's folder, or the reason it could not be made (e.g. a
    missing package); a failed export leaves no file behind.

    Tracing runs in a capped process of its own (trainers.export_process), under the training
    limits, while this session holds one of the server's evaluation slots."""
    digest = hashlib.blake2b(json.dumps(graph, sort_keys=True).encode(), digest_size=8).hexdigest()
    path = session_folder() / f"export-{digest}{suffix}"
    partial = path.with_name(f"partial-{path.name}")  # the suffix kept: exporters read it
    try:
        with slot():
            refusal = export_in_process(fmt, graph, partial, max_params=limits().max_params,
                                        max_activation_bytes=limits().max_activation_mb * MB,
                                        memory_mb=limits().run_memory_mb)
        if refusal is None:
            os.replace(partial, path)
    except EvalTooLarge as error:
        refusal = str(error)
    finally:
        partial.unlink(missing_ok=True)
    return path if refusal is None else refusal


def file_stem(graph: dict) -> str:
    """A safe file name from the graph's name (which is user text)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", str(graph.get("name", ""))).strip("_")[:60] or "graph"
