"""What the Build page's buttons do to the session's graph, each with a message for the person.

These run as widget callbacks or at the top of the page, before it draws, so the canvas and every
panel already show the new graph on the same run. Whenever input is bad the current graph stays
exactly as it was.
"""
import logging

import streamlit as st

from builder import Fix, GraphError, apply_fix, load_graph
from builder.templates import list_templates, load_template
from ui import share
from ui.graph_input import GraphInputError, describe_problems, parse_graph_json
from ui.notices import notify
from ui.state import current_graph, previous_graph, restore_previous_graph, set_graph
from ui.train_preset import adopt_template

KEPT = "Your current graph is unchanged."
_OPENED_LINK = "layerloom.opened_share_token"
# (file id, why it was refused or None) of the last uploaded graph file acted on
_OPENED_UPLOAD = "layerloom.opened_upload"


def load_template_into_session(name: str) -> None:
    title = next(info.title for info in list_templates() if info.name == name)
    set_graph(load_template(name))
    adopt_template()  # the Train page comes up with the template's dataset, task and settings
    notify("success", f"Loaded the template “{title}”. The graph you had is one click away: "
                      "“Bring back the previous graph” under Save & share.")


def open_uploaded_graph(uploader_key: str) -> None:
    """Load the file in the uploader, once per upload; a bad file leaves the graph as it is.

    Read from the widget's state at the top of the page, like a share link, so what the page
    shows depends only on the file the uploader holds now: `upload_refusal` keeps the reason
    beside the uploader for as long as a refused file sits in it.
    """
    uploaded = st.session_state.get(uploader_key)
    if uploaded is None or st.session_state.get(_OPENED_UPLOAD, (None,))[0] == uploaded.file_id:
        return
    # Marked as read before reading: a file that breaks something below is not read again on
    # every rerun, and the page still draws the uploader, whose × removes it.
    st.session_state[_OPENED_UPLOAD] = (uploaded.file_id, f"The file “{uploaded.name}” could not "
                                                          f"be read. {KEPT}")
    try:
        graph = parse_graph_json(uploaded.getvalue(), source=f"The file “{uploaded.name}”")
    except GraphInputError as error:
        st.session_state[_OPENED_UPLOAD] = (uploaded.file_id, f"{error} {KEPT}")
        return
    except Exception:  # noqa: BLE001 - a case the checks missed: the message above stands
        logging.getLogger(__name__).exception("reading the uploaded graph %r failed", uploaded.name)
        return
    st.session_state[_OPENED_UPLOAD] = (uploaded.file_id, None)
    set_graph(graph)
    notify("success", f"Loaded “{graph['name']}” from {uploaded.name}.")


def upload_refusal(uploader_key: str) -> str | None:
    """Why the file now in the uploader was not loaded, or None."""
    uploaded = st.session_state.get(uploader_key)
    file_id, refusal = st.session_state.get(_OPENED_UPLOAD, (None, None))
    return refusal if uploaded is not None and uploaded.file_id == file_id else None


def open_shared_link() -> None:
    """Open the graph in the URL's share parameter, once per link (edits afterwards are kept)."""
    token = st.query_params.get(share.QUERY_PARAM)
    if not token or st.session_state.get(_OPENED_LINK) == token:
        return
    st.session_state[_OPENED_LINK] = token
    try:
        graph = share.decode_graph(token)
    except GraphInputError as error:
        notify("error", f"{error} {KEPT}")
        return
    set_graph(graph)
    notify("success", f"Opened “{graph['name']}” from the share link.")


def apply_fix_to_session(fix: Fix) -> None:
    try:
        fixed = apply_fix(load_graph(current_graph()), fix)
    except GraphError as error:
        notify("error", f"Could not apply “{fix.label}”: {describe_problems(error)} {KEPT}")
        return
    set_graph(fixed)
    notify("success", f"Applied: {fix.label}.")


def bring_back_previous_graph() -> None:
    if previous_graph() is not None:
        restore_previous_graph()
        notify("info", "Brought back the previous graph; the same button swaps back again.")
