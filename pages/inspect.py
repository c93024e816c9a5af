"""The Inspect page: look inside a trained (or training) model.

Pick a run and a test example; the tabs show what the model predicts, what its layers see
(feature maps, attention), what it looked at (saliency), how its activations, gradients and weights
are doing, where it goes wrong, and for generative models what it makes. While the run trains,
the views refresh with its latest weights every few seconds.
"""
import streamlit as st

from trainers.eval_budget import EvalTooLarge
from ui.inspect_source import choose_run, choose_sample, load_subject
from ui.inspect_tabs import inspect_tabs
from ui.router import ensure_routed
from ui.text import escape_markdown

ensure_routed()  # when Streamlit ran this page without app.py (ui/router.py)

REFRESH_SECONDS = 3
VIEW_KEY = "inspect.view"  # the open tab's label

st.title("Inspect")
run = choose_run()
if run is None:
    st.stop()
training = not run.job.ended  # decided once per full run: the refresh timer depends on it


def views() -> None:
    if training and run.job.ended:
        st.rerun(scope="app")  # redraw once without the timer and with the run's final status
    subject = load_subject(run)
    if subject is None:
        return
    index = choose_sample(subject)
    tabs = inspect_tabs(subject, index)
    # Only the open tab's view runs: each costs a probe, and the page reruns every few seconds
    # while the run trains.
    for tab, show in zip(st.tabs(list(tabs), key=VIEW_KEY, on_change="rerun"), tabs.values()):
        if tab.open:
            with tab:
                try:
                    show()
                except EvalTooLarge as refusal:  # a wide model: the message says what to change
                    st.warning(escape_markdown(str(refusal)))


if training:
    st.caption(f"{run.name} is {run.job.status}: the views follow its latest weights.")
else:
    st.caption(f"{run.name} has {run.job.status}: the views show its last good weights.")
st.fragment(views, run_every=REFRESH_SECONDS if training else None)()
