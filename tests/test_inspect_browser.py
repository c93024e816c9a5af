"""The Inspect page in a real browser, after short runs started from the Train page: a CNN's
feature maps, a drawing on the pad that gets a prediction, and a transformer's attention maps."""
import os
import re
from pathlib import Path

import pytest

from tests.conftest import load_template_on_build, open_nav_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("LAYERLOOM_INSPECT_SHOTS", "/tmp/inspect_shots"))
TALL = {"width": 1500, "height": 2200}  # the whole page in one screenshot

# Plotly keeps each chart's title on its div; Streamlit wraps it in <b>, which we strip.
CHART_TITLES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .filter(div => div.offsetParent !== null)
  .map(div => ((div.layout && div.layout.title && div.layout.title.text) || '')
  .replace(/<[^>]+>/g, ''))"""


@pytest.fixture(scope="module")
def app_url():
    """Thread workers: a run starts at once, without forking a process per job."""
    with streamlit_server("app.py", env={"LAYERLOOM_WORKER": "thread"}) as (_, url):
        yield url


def load_template(page, name: str) -> None:
    open_nav_page(page, "Build")
    wait_for_app(page)
    load_template_on_build(page, name)


def start_training(page, samples: int, epochs: int) -> None:
    """A short run on a small dataset, started with the Train page's own button."""
    open_nav_page(page, "Train")
    wait_for_app(page)
    page.get_by_text("Dataset options").click()
    for label, value in (("N samples", samples), ("Epochs", epochs)):
        field = page.get_by_role("spinbutton", name=label)
        field.fill(str(value))
        field.press("Enter")
        wait_for_app(page)
    page.get_by_role("button", name="Start training").click()
    # The run starts in the rerun the click causes; a person sees it appear before moving on.
    page.get_by_text(re.compile(r"Run 1 · ")).first.wait_for(timeout=60_000)


def open_inspect_tab(page, tab: str) -> None:
    open_nav_page(page, "Inspect")
    wait_for_app(page)
    page.get_by_role("tab", name=tab).click()
    wait_for_app(page)


def wait_for_chart(page, title_start: str, timeout_ms: int = 30000) -> None:
    """Until a visible chart's title starts so; a TimeoutError (a failure) if none does in time."""
    page.wait_for_function(f"() => ({CHART_TITLES_JS})().some(t => t.startsWith({title_start!r}))",
                           timeout=timeout_ms)


def draw_a_stroke(page) -> None:
    """Mouse down, a diagonal drag across the pad, mouse up: one finished stroke."""
    pad = page.locator("canvas.ll-draw")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    left, top = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2
    page.mouse.move(left, top)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8, steps=12)
    page.mouse.up()


def train_a_template(page, app_url: str, template: str, samples: int, epochs: int) -> None:
    """A fresh session on a tall page loads `template` and starts a short run of it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(TALL)
    page.goto(app_url)
    wait_for_app(page)
    load_template(page, template)
    start_training(page, samples=samples, epochs=epochs)


def test_cnn_feature_maps_then_a_drawing_gets_a_prediction(app_url, page):
    train_a_template(page, app_url, "cnn_seed", samples=300, epochs=1)
    page.get_by_text(re.compile(r"Run 1 · .* finished in")).wait_for(timeout=60000)

    open_inspect_tab(page, "Feature maps")
    wait_for_chart(page, "Feature maps of conv1 (first 32 channels)")
    wait_for_chart(page, "Filters of conv1")
    page.screenshot(path=str(SHOTS / "cnn-feature-maps.png"))

    page.get_by_role("tab", name="Prediction").click()
    draw_a_stroke(page)
    wait_for_chart(page, "Your drawing looks like: ")
    page.screenshot(path=str(SHOTS / "cnn-drawing.png"))
    assert not page.console_errors, page.console_errors


def test_transformer_attention_maps_follow_the_run_until_it_ends(app_url, page):
    # about 8 s on two idle cores: time to look in while it trains
    train_a_template(page, app_url, "transformer_text", samples=2000, epochs=30)

    open_inspect_tab(page, "Attention")
    assert page.get_by_text("the views follow its latest weights").count()
    wait_for_chart(page, "Attention in encoder.0.attention")  # inside the EncoderBlock ×2
    wait_for_chart(page, "Attention in encoder.1.attention")
    page.get_by_text(re.compile(r"Run 1 · .* has finished")).wait_for(timeout=90000)
    assert not page.get_by_text("the views follow its latest weights").count()
    wait_for_chart(page, "Attention in encoder.1.attention")
    page.screenshot(path=str(SHOTS / "transformer-attention.png"))
    assert not page.console_errors, page.console_errors
