"""Where a run's weights start: fresh, an uploaded safetensors file, or the weights that came
with an imported model (Build's "Import a model": an ONNX or .pt2 file, or pasted code).

Every file is checked against the graph as it is now (names, dtypes, shapes, byte sizes,
against a meta-device model: nothing is allocated); weights that no longer fit say why and the
run starts fresh. Safetensors only: nothing here is ever unpickled.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st
import torch
from safetensors.torch import save as safetensors_bytes

from builder import GraphError, compile_graph
from builder.importers import ImportResult
from trainers.checkpoints import CheckpointError, check_weights
from ui.session_lease import SessionFilesFull, save_session_file
from ui.text import escape_markdown

_IMPORTED = "layerloom.imported_weights"  # (source file name, saved path)


def keep_imported_weights(result: ImportResult, source: str) -> str:
    """Keep an import's weights for the Train page to start from, when every layer's came
    along; a line for the import report saying what happened to them."""
    st.session_state.pop(_IMPORTED, None)
    if not result.weights_carried:
        return "note: not every layer's weights came with it; training starts from fresh weights"
    tensors = {name: tensor.detach().contiguous() for name, tensor in result.state_dict.items()}
    try:
        path = save_session_file(safetensors_bytes(tensors), ".safetensors")
    except SessionFilesFull as refusal:
        return f"note: its weights were not kept ({refusal}); training starts from fresh weights"
    st.session_state[_IMPORTED] = (source, str(path))
    return "note: the Train page starts the next run from these weights (a toggle there turns it off)"


def starting_weights(graph: dict) -> str | None:
    """The safetensors file the next run starts from (an upload, else the imported weights
    while they fit and are wanted); None: fresh weights."""
    upload = st.file_uploader("Start from weights (optional)", type=["safetensors"],
                              key="train.init_weights",
                              help="A .safetensors file saved from this graph, e.g. a run's "
                                   "“Weights” download. Other formats are refused: they can run code.")
    if upload is not None:
        try:
            path = save_session_file(upload.getvalue(), ".safetensors")
        except SessionFilesFull as refusal:
            st.error(escape_markdown(str(refusal)))
            return None
        return _checked(graph, path, upload.name)
    return _imported(graph)


def _imported(graph: dict) -> str | None:
    """The imported weights, offered while they fit the graph (an edit may change that)."""
    source, path = st.session_state.get(_IMPORTED, (None, None))
    if path is None or not Path(path).exists():
        return None
    label = f"the weights imported with {source}"
    try:
        _check(graph, Path(path), label)
    except (GraphError, CheckpointError) as error:
        st.caption(escape_markdown(f"{error} Runs start from fresh weights."))
        return None
    wanted = st.toggle(f"Start from {label}", value=True, key="train.imported_weights",
                       help="Off: the run starts from fresh random weights.")
    return str(path) if wanted else None


def _checked(graph: dict, path: Path, label: str) -> str | None:
    try:
        _check(graph, path, label)
    except GraphError as error:
        st.error(escape_markdown(f"Fix the graph before loading weights into it: {error}"))
        return None
    except CheckpointError as error:
        st.error(escape_markdown(str(error)))
        return None
    st.caption(f"The run will start from {escape_markdown(label)}.")
    return str(path)


def _check(graph: dict, path: Path, label: str) -> None:
    with torch.device("meta"):
        expected = compile_graph(graph).state_dict()
    check_weights(path, expected, label=label)
