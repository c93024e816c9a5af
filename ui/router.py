"""The app's pages, and the routing every run goes through, whichever script Streamlit starts.

app.py routes with `route().run()`. Streamlit (1.67) runs a server's first script run as an
old-style multipage app whenever a folder named `pages/` sits beside the main script (AppTest
does so on every run): the page script then runs on its own, without app.py. A first visitor of
/train after a restart got file names in the sidebar, no page config and no teacher's lesson,
and so did everyone after them until someone opened /. So each page script starts with
`ensure_routed()`: it switches that mode off and reruns, and app.py routes to the same page.
Nothing is lost by the rerun: it comes before the page has drawn anything, once per server on a
first page load, when no click is pending. (AppTest reroutes every run; the buttons that start
or build things are callbacks, which have run by then.)
"""
import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

from trainers.limits import LimitsError
from ui.lesson import adopt_lesson_from_url, show_lesson_banner
from ui.reattach import restore_session
from ui.session_lease import job_manager

# Streamlit's main column starts 6rem down, under its 3.75rem top bar; on a 720-pixel projector
# the rest of that height is the canvas's or the charts'. A <style>-only st.html takes no room.
_COMPACT_TOP = ("<style>[data-testid='stMainBlockContainer'] "
                "{ padding-top: 4rem; padding-bottom: 2rem; }</style>")

# (script, title, icon); st.Page resolves a path against the main script, so pages are made
# when app.py routes, not when this module is imported (a test may run a page script alone).
PAGES = [
    ("pages/build.py", "Build", ":material/account_tree:"),
    ("pages/train.py", "Train", ":material/monitoring:"),
    ("pages/inspect.py", "Inspect", ":material/biotech:"),
    ("pages/lessons.py", "Lessons", ":material/school:"),
]


def route() -> StreamlitPage:
    """Page config, navigation, the teacher's lesson; returns the page the URL asks for."""
    st.set_page_config(page_title="LayerLoom", page_icon="🧶", layout="wide")
    st.html(_COMPACT_TOP)
    pages = [st.Page(script, title=title, icon=icon, default=index == 0)
             for index, (script, title, icon) in enumerate(PAGES)]
    # At the top, not in a sidebar: a 1280-pixel projector gives the canvas its whole width.
    page = st.navigation(pages, position="top")  # also ends the old pages-folder mode
    try:
        job_manager()  # the first visit starts the job workers (seconds of imports), not the first Start
    except LimitsError as error:  # the server's environment: say what is wrong, serve nothing
        st.error(f"This server cannot train: {error}")
        st.stop()
    adopt_lesson_from_url()
    restore_session()  # a reload: the graph and runs this browser had (ui/reattach.py)
    show_lesson_banner()
    return page


def ensure_routed() -> None:
    """Call first in every page script; costs nothing once a run has come through app.py."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets
        st.rerun()
