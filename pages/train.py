"""The Train page: press Start and watch the network learn, everything watched in one view.

Top: the live block (ui/train_live.py): Start, Fork, Pause, Stop and the progress in one bar, then
the newest run's loss, accuracy and, for 2-D data, decision boundary side by side.
Below: "Data and settings": the data (with a preview and whether the graph fits it) beside the
settings; open before a run, folded while one trains (a click opens it), so that at 1280x720
nothing needed during training is below the fold.
Last: every run of the session, overlaid on one chart, with downloads.
"""
import streamlit as st

from ui.kept_widgets import keep_values
from ui.notices import show_notices
from ui.router import ensure_routed
from ui.start_weights import starting_weights
from ui.state import current_graph
from ui.train_data import data_panel, default_task, graph_fits
from ui.train_history import history_panel
from ui.train_live import carry_out_request, live_panel, setup_starts_open
from ui.train_own_data import few_steps_hint
from ui.train_settings import settings_panel

ensure_routed()  # when Streamlit ran this page without app.py (ui/router.py)

_SETUP = "train.setup"  # the expander's open state (a widget value, so Python can fold it)

st.title("Train")
show_notices()
graph = current_graph()
live = st.container()  # drawn last, above the settings: Start needs the settings read below
open_setup = setup_starts_open(_SETUP)
with st.expander("Data and settings", expanded=open_setup, key=_SETUP, on_change=lambda: None,
                 icon=":material/tune:"):
    data_column, settings_column = st.columns(2, gap="large")
    with data_column:
        data = data_panel()
    with settings_column:
        config = settings_panel(default_task(data))
        init_state = starting_weights(graph)
    ready = graph_fits(data, config)  # each mismatch is shown with its one-click fix
    few_steps_hint(data, config)  # a person's few dozen examples need more epochs

carry_out_request(graph, data, config, ready, init_state)
with live:
    live_panel(ready, can_fork=config is not None)

history_panel()
keep_values()  # the dataset and settings chosen here survive a visit to Build or Inspect
