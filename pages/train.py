"""The Train page: pick data and settings, press Start, watch the network learn, compare runs.

Left: the data (with a preview and whether the graph fits it) and the settings.
Right: the newest run, live: progress, Pause/Resume/Stop, health alerts, loss and accuracy.
Below: every run of the session, overlaid on one chart, with downloads.
"""
import streamlit as st

from ui.kept_widgets import keep_values
from ui.notices import show_notices
from ui.router import ensure_routed
from ui.state import current_graph
from ui.train_data import data_panel, default_task, graph_fits
from ui.train_history import history_panel
from ui.train_live import live_panel, start_buttons
from ui.train_settings import settings_panel

ensure_routed()  # when Streamlit ran this page without app.py (ui/router.py)

st.title("Train")
show_notices()
setup, live = st.columns([2, 3], gap="large")

with setup:
    data = data_panel()
    config = settings_panel(default_task(data))
    ready = graph_fits(data, config)  # each mismatch is shown with its one-click fix
    start_buttons(current_graph(), data, config, ready)

with live:
    live_panel()

history_panel()
keep_values()  # the dataset and settings chosen here survive a visit to Build or Inspect
