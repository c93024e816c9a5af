"""LayerLoom: build a network on a canvas, train it live, look inside it.

Run with `streamlit run app.py`. This file only routes; each page lives in pages/. A teacher's
lesson link (ui/lesson.py) is read here, once per session, so it applies whichever page it opens.
"""
import streamlit as st

from ui.lesson import adopt_lesson_from_url, show_lesson_banner
from ui.runs import job_manager

st.set_page_config(page_title="LayerLoom", page_icon="🧶", layout="wide")

PAGES = [
    st.Page("pages/build.py", title="Build", icon=":material/account_tree:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/monitoring:"),
    st.Page("pages/inspect.py", title="Inspect", icon=":material/biotech:"),
]

page = st.navigation(PAGES)
job_manager()  # the first visit starts the job workers (seconds of imports), not the first Start
adopt_lesson_from_url()
show_lesson_banner()
page.run()
