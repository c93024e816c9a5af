"""Build: drag layers onto the canvas, wire them up, and see every shape, size and problem live."""
import streamlit as st

from ui import build_files, build_panels
from ui.build_actions import open_shared_link
from ui.build_canvas import canvas_editor, take_canvas_edit
from ui.notices import show_notices
from ui.state import current_graph, current_report

open_shared_link()  # a ?graph=... link opens its graph once; a bad link leaves the graph as it is
take_canvas_edit()  # the browser's latest edit, before anything is drawn

st.title("Build")
show_notices()
build_panels.totals_bar(current_report())
canvas_editor()  # the node editor; edits and fixes made there flow back into the session's graph

graph, report = current_graph(), current_report()
build_panels.problems_panel(report)

summary, templates, files, export = st.tabs(["Summary", "Templates", "Save & share", "Export"])
with summary:
    build_panels.summary_panel(graph, report)
with templates:
    build_panels.templates_gallery()
with files:
    build_files.save_and_load_panel(graph)
    st.divider()
    st.markdown("**Share link**")
    build_files.share_panel(graph)
with export:
    build_files.export_panel(graph, report)
