"""A teacher's walk through one template in a real browser: Build -> Templates -> the template,
Train -> a short run, Inspect -> each tab. Shared by the browser test and
scripts/shoot_inspect.py (which screenshots every tab)."""
import re

from tests.conftest import load_template_on_build, open_nav_page, wait_for_app

EXCEPTION_BOX = '[data-testid="stException"]'
VISIBLE_CHARTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .filter(div => div.offsetParent !== null && div.querySelector('.main-svg')).length"""


def fill(page, label: str, value) -> None:
    """Type `value` into the number input labelled `label`, if the page has one."""
    field = page.get_by_role("spinbutton", name=label)
    if field.count():
        field.fill(str(value))
        field.press("Enter")
        wait_for_app(page)


def train_template(page, template: str, *, samples: int, epochs: int, timeout_ms: int = 300_000) -> None:
    """Load `template` on Build, then train it on the Train page until the run has ended."""
    open_nav_page(page, "Build")
    wait_for_app(page)
    load_template_on_build(page, template)
    open_nav_page(page, "Train")
    wait_for_app(page)
    if page.get_by_text("Dataset options").count():  # digits has none: it is small already
        page.get_by_text("Dataset options").click()
        fill(page, "N samples", samples)
    fill(page, "Epochs", epochs)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Run \d+ · .* (finished|stopped|failed)")).first.wait_for(timeout=timeout_ms)


def inspect_tabs(page):
    """Open Inspect, then each of its tabs in turn; yields the tab's label once it has drawn."""
    open_nav_page(page, "Inspect")
    wait_for_app(page)
    page.get_by_role("tab", name="Prediction").wait_for(timeout=60_000)  # after the data loads
    labels = [tab.inner_text() for tab in page.get_by_role("tab").all()]
    for label in labels:
        page.get_by_role("tab", name=label, exact=True).click()
        wait_for_app(page)
        yield label
