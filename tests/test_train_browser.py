"""A real run from a real browser: Start, watch the live loss chart gain points, Stop."""
import os
import time
from pathlib import Path

import pytest

from tests.conftest import open_nav_page, wait_for_app

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("LAYERLOOM_SHOTS", "/tmp/layerloom-shots"))

# The number of points plotted on the live loss chart (the plotly chart whose uirevision is
# "loss"). Arrays arrive base64-encoded, so the count comes from plotly's decoded traces.
LOSS_POINTS_JS = """() => {
  const chart = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(div => div.layout && div.layout.uirevision === 'loss');
  if (!chart || !chart._fullData) return -1;
  return chart._fullData.reduce((n, trace) => n + (trace._length || 0), 0);
}"""


def loss_points(page) -> int:
    return page.evaluate(LOSS_POINTS_JS)


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def test_live_chart_grows_while_training_then_stop(app_url, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(app_url)
    wait_for_app(page)
    open_nav_page(page, "Train")
    wait_for_app(page)
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("300")
    epochs.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()

    # Generous limits: the suite shares two cores; bench/bench_train_page.py measures speed.
    first = wait_until(lambda: max(loss_points(page), 0), 60, "the first point on the loss chart")
    later = wait_until(lambda: (n := loss_points(page)) > first and n, 30,
                       "the loss chart to gain points while the run trains")
    assert later > first
    page.screenshot(path=str(SHOTS / "train-running.png"), full_page=True)

    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    wait_until(lambda: page.get_by_text("stopped", exact=False).count(), 20, "the run to stop")
    wait_for_app(page)
    assert loss_points(page) >= later  # the curves are kept after the stop
    page.screenshot(path=str(SHOTS / "train-stopped.png"), full_page=True)
    assert not page.console_errors, page.console_errors
