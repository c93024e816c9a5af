"""Build: drag layers onto the canvas, wire them up, and see every shape, size and problem live."""
import streamlit as st

from ui import build_files, build_import, build_panels
from ui.build_actions import open_shared_link, open_uploaded_graph
from ui.build_canvas import canvas_editor, take_canvas_edit
from ui.lesson import is_hidden
from ui.notices import show_notices
from ui.router import ensure_routed
from ui.state import current_graph, current_report

ensure_routed()  # when Streamlit ran this page without app.py (ui/router.py)

open_shared_link()  # a ?graph=... link opens its graph once; a bad link leaves the graph as it is
open_uploaded_graph(build_files.UPLOAD_KEY)  # once per file put in the uploader
take_canvas_edit()  # the browser's latest edit, before anything is drawn

# Title and totals in one row, so the canvas below fits a 720-pixel-high projector whole.
title_column, totals_column = st.columns([1, 5], vertical_alignment="bottom")
title_column.title("Build")
with totals_column:
    build_panels.totals_bar(current_graph(), current_report())
show_notices()
canvas_editor()  # the node editor; edits and fixes made there flow back into the session's graph

graph, report = current_graph(), current_report()
build_panels.problems_panel(report)


def save_and_share() -> None:
    if not is_hidden("files"):
        build_files.save_and_load_panel(graph)
        build_import.import_panel()
        st.divider()
    if not is_hidden("share"):
        build_files.share_panel(graph)


# Below the canvas, one tab per task; a teacher's lesson link may hide some of them.
sections = {"Summary": lambda: build_panels.summary_panel(graph, report)}
if not is_hidden("templates"):
    sections["Templates"] = build_panels.templates_gallery
if not (is_hidden("files") and is_hidden("share")):
    sections["Save & share"] = save_and_share
if not is_hidden("export"):
    sections["Export"] = lambda: build_files.export_panel(graph, report)
# Only the open tab is drawn: an edit on a big graph then reruns the summary alone, not the code
# export and share link as well (a tab click reruns the page to draw the tab it opens).
for tab, draw in zip(st.tabs(list(sections), key="build.tab", on_change="rerun"), sections.values()):
    if tab.open:
        with tab:
            draw()
