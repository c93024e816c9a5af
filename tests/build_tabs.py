"""AppTest helpers for the Build page's tabs: only the open tab is drawn (pages/build.py)."""
from streamlit.testing.v1 import AppTest


def open_build_tab(at: AppTest, name: str) -> AppTest:
    """Open one of the tabs below the canvas ("Summary", "Templates", "Save & share", "Export")."""
    at.session_state["build.tab"] = name
    return at.run()


def click_template(at: AppTest, template: str) -> AppTest:
    """Load a template from the Templates tab, as a click on its button does."""
    open_build_tab(at, "Templates").button(key=f"build.template.{template}").click()
    return at.run()
