"""The Lessons page: one-click experiments, each a pair of runs whose promised result is checked.

Left: the lessons (the shipped ones, then any opened from a file). Right: the chosen lesson's
question, the one change, what to look for and what it promises; its runs overlaid once started.
"""
import streamlit as st

from ui.lessons import gallery_lessons, open_lesson_file, open_lesson_link, pick_lesson, show_lesson
from ui.notices import show_notices
from ui.router import ensure_routed

ensure_routed()  # when Streamlit ran this page without app.py (ui/router.py)

if st.session_state.pop("lessons.go_build", False):
    st.switch_page("pages/build.py")
st.title("Lessons")
show_notices()
open_lesson_link()
menu, detail = st.columns([1, 2], gap="large")
with menu:
    st.caption("Each lesson changes one thing between two runs and promises what you will see; "
               "LayerLoom's tests check every promise at the shipped settings.")
    lesson = pick_lesson(gallery_lessons())
    open_lesson_file()
with detail:
    show_lesson(lesson)
