"""The Train page on a projector (issue #13): after Start, the controls, the progress, the live
loss and accuracy charts and a 2-D set's decision boundary are all in one view, unscrolled."""
import os
import re
from pathlib import Path

import pytest

from tests.conftest import load_template_on_build, start_on_train, streamlit_server, wait_for_app
from tests.test_train_browser import loss_points, wait_until

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("LAYERLOOM_SHOTS", "/tmp/layerloom-shots"))

# The box of the visible plotly chart whose layout.uirevision is `name` (null if none).
CHART_BOX_JS = """(name) => {
  const chart = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(div => div.layout && div.layout.uirevision === name && div.offsetParent !== null);
  if (!chart) return null;
  const r = chart.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""


@pytest.fixture(scope="module")
def app_url():
    """Thread workers: a run starts at once, without forking a process per job."""
    with streamlit_server("app.py", env={"LAYERLOOM_WORKER": "thread"}) as (_, url):
        yield url


def inside(box: dict | None, viewport: dict) -> bool:
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 0
            and box["x"] + box["width"] <= viewport["width"]
            and box["y"] + box["height"] <= viewport["height"])


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_start_progress_charts_and_boundary_in_one_view(app_url, browser, size):
    viewport = {"width": size[0], "height": size[1]}
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.set_default_timeout(60_000)
        page.goto(app_url)
        wait_for_app(page)
        load_template_on_build(page, "mlp_playground")
        start_on_train(page, epochs=2000)  # minutes: the run is still training when measured
        wait_until(lambda: max(loss_points(page), 0), 90, "the first point on the loss chart")
        wait_until(lambda: page.evaluate(CHART_BOX_JS, "boundary"), 60, "the decision boundary")
        page.get_by_text(re.compile(r"Run 1 · .* · training")).wait_for()
        wait_for_app(page)
        page.screenshot(path=str(SHOTS / f"train-running-{size[0]}x{size[1]}.png"))

        assert page.evaluate("() => window.scrollY") == 0
        main = page.get_by_test_id("stMainBlockContainer")
        seen = {
            "Start": main.get_by_role("button", name="Start training").bounding_box(),
            "Pause": main.get_by_role("button", name="Pause").bounding_box(),
            "Stop": main.get_by_role("button", name="Stop").bounding_box(),
            "progress": main.get_by_test_id("stProgress").bounding_box(),
            "loss chart": page.evaluate(CHART_BOX_JS, "loss"),
            "accuracy chart": page.evaluate(CHART_BOX_JS, "metric"),
            "decision boundary": page.evaluate(CHART_BOX_JS, "boundary"),
        }
        outside = {name: box for name, box in seen.items() if not inside(box, viewport)}
        assert not outside, f"outside the {size} view: {outside}"

        main.get_by_role("button", name="Stop").click()
        page.get_by_text(re.compile(r"Run 1 · .* · stopped")).wait_for()
        assert not errors, errors
    finally:
        context.close()
