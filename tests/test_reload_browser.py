"""Work survives a reload (issue #13): the graph and the session's runs, a running one included,
come back in the same browser, within the session TTL; never in another browser; and a tab
closed for longer than the TTL has had its runs ended (only the graph comes back)."""
import re

import pytest

from tests.conftest import (load_template_on_build, open_nav_page, pick_data_on_train, start_on_train,
                            streamlit_server, wait_for_app)

pytestmark = pytest.mark.browser
SESSION_TTL_S = 8  # long enough for a reload on a busy box, short enough to wait out
SERVER_ENV = {"LAYERLOOM_WORKER": "thread",
              "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL_S)}
RUN_LINE = re.compile(r"Run 1 · .* · (training|finished)")


@pytest.fixture(scope="module")
def app_url():
    with streamlit_server("app.py", env=SERVER_ENV) as (_, url):
        yield url


def new_tab(context):
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def load_playground_and_start_a_long_run(page, app_url: str) -> None:
    page.goto(app_url)
    wait_for_app(page)
    load_template_on_build(page, "mlp_playground")
    start_on_train(page, epochs=3000)  # minutes of training: still running after the reload
    page.get_by_text(re.compile(r"Run 1 · .* · training")).wait_for()


def graph_on_build(page) -> set[str]:
    """The node ids the Build page's canvas shows."""
    open_nav_page(page, "Build")
    wait_for_app(page)
    page.locator(".react-flow__node").first.wait_for()
    return set(page.locator(".react-flow__node").evaluate_all(
        "nodes => nodes.map(n => n.dataset.id)"))


def test_a_reload_brings_back_the_graph_and_the_running_run_and_no_other_browser_sees_them(
        app_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    stranger = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = new_tab(context)
        load_playground_and_start_a_long_run(page, app_url)

        page.reload()
        wait_for_app(page)
        page.get_by_text("Restored your graph “mlp_playground” and 1 run (1 still training) "
                         "from before the reload.").wait_for()
        page.get_by_text(RUN_LINE).wait_for()  # the run, re-attached, still trains
        page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").wait_for()
        assert {"tanh1", "tanh2", "fc3"} <= graph_on_build(page)

        other = new_tab(stranger)  # another browser: its own token, nothing of the first
        other.goto(app_url + "train")
        wait_for_app(other)
        other.get_by_role("button", name="Start training").wait_for()
        other.wait_for_timeout(1500)  # time for its browser report and the rerun it causes
        wait_for_app(other)
        assert other.get_by_text(re.compile(r"Run 1 · ")).count() == 0
        assert other.get_by_text("Restored").count() == 0
        assert "tanh1" not in graph_on_build(other)
        tokens = [tab.evaluate("() => localStorage.getItem('layerloom.browser')")
                  for tab in (page, other)]
        assert all(re.fullmatch(r"[0-9a-f]{32}", token) for token in tokens)
        assert tokens[0] != tokens[1]
        assert not page.errors and not other.errors, page.errors + other.errors
    finally:
        context.close()
        stranger.close()


def test_a_tab_closed_past_the_ttl_gets_its_graph_back_but_its_runs_have_ended(app_url,
                                                                                 browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = new_tab(context)
        load_playground_and_start_a_long_run(page, app_url)
        page.close()
        page = new_tab(context)
        page.wait_for_timeout((SESSION_TTL_S + 6) * 1000)  # the closed tab's runs end at the TTL

        page.goto(app_url + "train")
        wait_for_app(page)
        page.get_by_text("Restored your graph “mlp_playground” from before the reload.").wait_for()
        wait_for_app(page)
        assert page.get_by_text(re.compile(r"Run 1 · ")).count() == 0
        assert {"tanh1", "tanh2", "fc3"} <= graph_on_build(page)
        assert not page.errors, page.errors
    finally:
        context.close()


def test_a_reload_brings_back_the_sentences_uploaded_before_it(app_url, browser, tmp_path):
    from tests.test_templates_own_data import diary_csv
    diary = tmp_path / "diary.csv"
    diary.write_bytes(diary_csv(20))
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = new_tab(context)
        page.goto(app_url)
        wait_for_app(page)
        pick_data_on_train(page, "lstm_text", "Your texts")
        page.locator('input[type="file"]').first.set_input_files(str(diary))
        page.get_by_text(re.compile("Vocabulary: 29 words")).wait_for()

        page.reload()
        wait_for_app(page)
        page.get_by_text("Restored your graph “lstm_text” and your data (diary.csv) from before "
                         "the reload.").wait_for()
        page.get_by_text("Using diary.csv, uploaded earlier; upload another file to replace it."
                         ).wait_for()
        page.get_by_text(re.compile("Vocabulary: 29 words")).wait_for()
        assert not page.errors, page.errors
    finally:
        context.close()
