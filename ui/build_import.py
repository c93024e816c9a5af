"""The Build page's "Import a model" panel: an ONNX or torch.export .pt2 file becomes the graph,
with the import report (what mapped, what did not) shown beside the uploader."""
import tempfile
from pathlib import Path

import streamlit as st

from builder.importers import ImportRefused, import_model
from ui.build_import_code import code_panel
from ui.notices import notify
from ui.start_weights import keep_imported_weights
from ui.state import set_graph
from ui.text import escape_markdown

IMPORT_KEY = "build.import"
_REPORT = "layerloom.import_report"  # (file id, report text or refusal, ok)
MAX_IMPORT_MB = 200


def import_panel() -> None:
    st.markdown("**Import a model**")
    st.file_uploader("ONNX (.onnx) or torch.export (.pt2) file", type=["onnx", "pt2"],
                     key=IMPORT_KEY, max_upload_size=MAX_IMPORT_MB,
                     help="Read as data, never run or unpickled. Layers LayerLoom has become "
                          "nodes; anything else is listed below and left as a gap to fill.")
    uploaded = st.session_state.get(IMPORT_KEY)
    if uploaded is not None:
        _uploaded_panel(uploaded)
    code_panel()


def _uploaded_panel(uploaded) -> None:
    st.button("Import as the graph", icon=":material/upload_file:", on_click=_import_uploaded,
              help="Replaces the graph on the canvas (“Bring back the previous graph” undoes it).")
    file_id, text, ok = st.session_state.get(_REPORT, (None, "", True))
    if file_id == uploaded.file_id:
        if ok:
            st.code(text, language=None, wrap_lines=True)
        else:
            st.error(escape_markdown(text))


def _import_uploaded() -> None:
    uploaded = st.session_state.get(IMPORT_KEY)
    if uploaded is None:
        return
    suffix = Path(uploaded.name).suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(uploaded.getvalue())
        try:
            result = import_model(path)
        except ImportRefused as refusal:
            message = str(refusal).replace(path.name, uploaded.name)
            st.session_state[_REPORT] = (uploaded.file_id, f"Not imported: {message}", False)
            return
    result.graph["name"] = Path(uploaded.name).stem[:60] or "imported"
    text = result.to_text().replace("upload" + suffix, uploaded.name)
    text += "\n" + keep_imported_weights(result, uploaded.name)
    st.session_state[_REPORT] = (uploaded.file_id, text, True)
    set_graph(result.graph)
    notify("success" if result.computable else "warning",
           f"Imported {uploaded.name}" + ("." if result.computable else f": {_to_replace(result)}, "
                                          "see the report under Save & share."))


def _to_replace(result) -> str:
    """What must change before the imported graph trains: gaps and Opaque nodes that cannot
    compute."""
    stuck = sum(not item.computes for item in result.opaque)
    parts = [f"{len(result.unmapped)} operation(s) left as gaps"] if result.unmapped else []
    parts += [f"{stuck} Opaque node(s) that cannot compute"] if stuck else []
    return " and ".join(parts)
