"""The first visitor of a freshly started server, arriving on a page other than Build.

Streamlit runs a server's first run as an old-style multipage app when a `pages/` folder sits
beside app.py (ui/router.py): without the router check, a teacher's lesson link to /train opened
right after a restart showed raw file names in the sidebar and ignored the lesson.
"""
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import open_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser


def test_a_lesson_link_to_train_works_on_a_fresh_server(browser):
    with streamlit_server("app.py") as (_, url):
        page = open_page(browser)
        page.goto(f"{url}train?title=Momentum+lesson&lr=0.05")
        expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=90_000)
        wait_for_app(page, timeout_ms=90_000)
        navigation = page.get_by_test_id("stTopNav")  # the pages along the top (ui/router.py)
        titles = [re.compile(f"{title}$") for title in ("Build", "Train", "Inspect", "Lessons")]
        expect(navigation.get_by_role("link")).to_have_text(titles)  # after each icon's name
        expect(page.get_by_text("Momentum lesson")).to_be_visible()
        assert not page.console_errors
        page.context.close()
