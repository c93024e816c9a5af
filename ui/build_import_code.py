"""The Build page's "Import Python code" part of the import panel: nn.Module code pasted or
uploaded, traced on input shapes the person gives (builder.importers.code_import). Off on a
shared server, where the panel says why and how to turn it on."""
import streamlit as st

from builder.importers import ImportRefused
from builder.importers.code_import import code_import_refusal, import_code
from ui.notices import notify
from ui.runs import limits
from ui.start_weights import keep_imported_weights
from ui.state import set_graph
from ui.text import escape_markdown

CODE_KEY, FILE_KEY = "build.import_code", "build.import_code_file"
SHAPES_KEY, CLASS_KEY = "build.import_code_shapes", "build.import_code_class"
_REPORT = "layerloom.import_code_report"  # (report text or refusal, ok)
PLACEHOLDER = """import torch
from torch import nn

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)"""


def code_panel() -> None:
    st.markdown("**Import Python code**")
    refusal = code_import_refusal(server_address=st.get_option("server.address"))
    if refusal:
        st.caption(escape_markdown(refusal[:1].upper() + refusal[1:] + "."))
        return
    st.file_uploader("A .py file with an nn.Module", type=["py"], key=FILE_KEY,
                     max_upload_size=1)
    st.text_area("…or paste the code", key=CODE_KEY, height=180, placeholder=PLACEHOLDER,
                 help="The last nn.Module class in the code is built without arguments "
                      "(or name one below, or end with `model = MyNet(...)`).")
    shapes_column, class_column = st.columns(2)
    shapes_column.text_input("Input shape (one sample)", key=SHAPES_KEY, placeholder="3, 32, 32",
                             help="Without the batch. Several inputs: separate with ';'. "
                                  "Token ids: add 'long', e.g. '20 long'.")
    class_column.text_input("Class (optional)", key=CLASS_KEY, placeholder="the last one")
    st.button("Trace and import", icon=":material/code:", on_click=_import_code,
              help="Runs the code in a separate, limited process on this computer, traces "
                   "forward with torch.export and replaces the graph on the canvas.")
    text, ok = st.session_state.get(_REPORT, ("", True))
    if text and ok:
        st.code(text, language=None, wrap_lines=True)
    elif text:
        st.error(escape_markdown(text))


def _import_code() -> None:
    uploaded = st.session_state.get(FILE_KEY)
    code = (st.session_state.get(CODE_KEY) or "").strip()
    name = "pasted code"
    if uploaded is not None and not code:
        code, name = uploaded.getvalue().decode("utf-8", errors="replace"), uploaded.name
    if not code:
        st.session_state[_REPORT] = ("Not imported: paste the code or upload a .py file.", False)
        return
    try:
        result = import_code(code, st.session_state.get(SHAPES_KEY) or "",
                             name=name if name.endswith(".py") else "model.py",
                             class_name=(st.session_state.get(CLASS_KEY) or "").strip(),
                             memory_mb=limits().run_memory_mb)
    except ImportRefused as refusal:
        st.session_state[_REPORT] = (f"Not imported: {refusal}", False)
        return
    result.source = name
    st.session_state[_REPORT] = (result.to_text() + "\n"
                                 + keep_imported_weights(result, name), True)
    set_graph(result.graph)
    notify("success" if result.computable else "warning",
           f"Imported {name}." if result.computable else
           f"Imported {name}: some operations need replacing, see the report.")
