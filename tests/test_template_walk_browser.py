"""Build -> Train -> Inspect in Chromium for a few representative templates (a GAN, a
Transformer on text, a GRU forecaster, a residual CNN; the last two hold blocks): every Inspect tab
shows a figure and no exception box."""
import pytest

from tests.conftest import streamlit_server
from tests.template_walk import EXCEPTION_BOX, VISIBLE_CHARTS_JS, inspect_tabs, train_template

pytestmark = pytest.mark.browser
WALKS = {"gan": ["Prediction", "Generated", "First-layer weights", "Activations & gradients"],
         "transformer_text": ["Prediction", "Attention", "Saliency", "Activations & gradients", "Mistakes"],
         "gru_forecast": ["Prediction", "Saliency", "Activations & gradients"],
         "resnet_small": ["Prediction", "Feature maps", "Saliency", "Activations & gradients",
                          "Mistakes"]}


@pytest.fixture(scope="module")
def app_url():
    with streamlit_server("app.py", env={"LAYERLOOM_WORKER": "thread"}) as (_, url):
        yield url


@pytest.mark.parametrize("template", list(WALKS))
def test_every_inspect_tab_of_the_template_shows_a_figure(app_url, page, template):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(app_url)
    train_template(page, template, samples=300, epochs=2)
    seen = []
    for label in inspect_tabs(page):
        page.wait_for_function(f"() => ({VISIBLE_CHARTS_JS})() > 0", timeout=30_000)
        boxes = page.locator(EXCEPTION_BOX)
        assert not boxes.count(), f"{label}: {boxes.first.inner_text()}"
        seen.append(label)
    assert seen == WALKS[template]
    assert not page.console_errors, page.console_errors
