"""The canvas on a projector: every template readable and whole at 1280x720 and 1920x1080, on the
real Build page in a real Chromium.

"Readable" is measured, not assumed: a node title's computed font size times the zoom of React
Flow's viewport transform is what lands on the screen (>= 12 px), likewise an edge's shape label
(>= 10 px), and every handle is a >= 16 px target on screen; "whole" means every node's box lies
inside the canvas pane, and the canvas ends within the window's first screen. Checked right after a
template loads, after Fit view, with the details panel open, and while presenting. Screenshots
land in /tmp/classroom_shots/ for a human to look at.
"""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from builder.templates import list_templates, load_template
from tests.canvas_gestures import node
from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/classroom_shots")
SIZES = [(1280, 720), (1920, 1080)]
MIN_TITLE_PX, MIN_LABEL_PX, MIN_HANDLE_PX = 12, 10, 16

# What lands on the screen: font sizes x zoom, and the nodes that stick out of the pane (or out
# of the window, which is what a presenting canvas fills).
MEASURE = """() => {
  const host = [...document.querySelectorAll('*')].find((e) => e.shadowRoot?.querySelector('.ll-canvas'));
  const root = host.shadowRoot;
  const pane = root.querySelector('.ll-flow').getBoundingClientRect();
  const zoom = new DOMMatrix(getComputedStyle(root.querySelector('.react-flow__viewport')).transform).a;
  const px = (selector) => Math.min(...[...root.querySelectorAll(selector)]
    .map((e) => parseFloat(getComputedStyle(e).fontSize) * zoom));
  const nodes = [...root.querySelectorAll('.react-flow__node')];
  const outside = nodes.filter((n) => {
    const b = n.getBoundingClientRect();
    const window_ = root.querySelector('.ll-canvas--present') && (b.right > innerWidth + 0.5 || b.bottom > innerHeight + 0.5);
    return b.left < pane.left - 0.5 || b.top < pane.top - 0.5 || b.right > pane.right + 0.5
      || b.bottom > pane.bottom + 0.5 || window_;
  }).map((n) => n.dataset.id);
  const handle = Math.min(...[...root.querySelectorAll('.react-flow__handle')]
    .map((h) => Math.min(h.getBoundingClientRect().width, h.getBoundingClientRect().height)));
  const canvas = root.querySelector('.ll-canvas').getBoundingClientRect();
  const fixed = Boolean(root.querySelector('.ll-canvas--present'));
  const scrolled = document.querySelector('[data-testid="stMain"]')?.scrollTop ?? 0; // Streamlit's
  const canvasBottom = canvas.bottom + (fixed ? 0 : scrolled); // from the top of the page
  return { zoom, on_first_screen: canvasBottom <= innerHeight + 0.5, title: px('.ll-node-type'), label: px('.ll-edge-label'), outside, nodes: nodes.length, handle,
           palette: Boolean(root.querySelector('.ll-palette')),
           pane: [Math.round(pane.width), Math.round(pane.height)] };
}"""


@pytest.fixture(scope="module", params=SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def build(request, browser, app_url):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.goto(app_url)
    wait_for_app(page, timeout_ms=90_000)
    page.wait_for_selector(".react-flow__node", timeout=90_000)
    page.size = f"{width}x{height}"
    yield page
    context.close()


def settled(page, expected_nodes: int, timeout_s: float = 20.0) -> dict:
    """The measurement once the canvas holds `expected_nodes` and has stopped moving (arranging,
    fitting and Python's rerun are asynchronous); the last one if it never settles."""
    last, seen = None, 0
    for _ in range(int(timeout_s / 0.25)):
        wait_for_app(page)
        now = page.evaluate(MEASURE)
        if now["nodes"] == expected_nodes and now == last:
            seen += 1
            if seen >= 2:
                return now
        else:
            seen = 0
        last = now
        page.wait_for_timeout(250)
    return last


def assert_readable_and_whole(view: dict, what: str):
    assert not view["outside"], f"{what}: nodes outside the canvas: {view}"
    assert view["on_first_screen"], f"{what}: the canvas runs below the window's bottom: {view}"
    assert view["title"] >= MIN_TITLE_PX, f"{what}: node titles render at {view['title']:.1f} px: {view}"
    assert view["label"] >= MIN_LABEL_PX, f"{what}: edge labels render at {view['label']:.1f} px: {view}"
    assert view["handle"] >= MIN_HANDLE_PX, f"{what}: handles are {view['handle']:.1f} px to hit: {view}"


def load_from_gallery(page, name: str):
    wait_for_app(page)
    page.get_by_role("tab", name="Templates").click()
    page.locator(f".st-key-build-template-{name} button").click()


def test_every_template_is_readable_and_whole_after_loading_and_after_fit_view(build):
    failures = []
    for info in list_templates():
        count = len(load_template(info.name).nodes)
        load_from_gallery(build, info.name)
        expect(build.locator(".react-flow__node")).to_have_count(count, timeout=30_000)
        loaded = settled(build, count)
        SHOTS.mkdir(exist_ok=True)
        build.locator(".ll-canvas").screenshot(path=str(SHOTS / f"{build.size}-{info.name}.png"))
        build.get_by_role("button", name="Fit view", exact=True).click()
        fitted = settled(build, count)
        for moment, view in (("after loading", loaded), ("after Fit view", fitted)):
            try:
                assert_readable_and_whole(view, f"{info.name} at {build.size} {moment}")
            except AssertionError as failure:
                failures.append(str(failure))
    assert not failures, "\n".join(failures)
    assert not build.console_errors


def test_the_details_panel_keeps_the_selection_in_view_and_fit_view_fits_beside_it(build):
    load_from_gallery(build, "cnn_seed")
    expect(build.locator(".react-flow__node")).to_have_count(11, timeout=30_000)
    assert settled(build, 11)["palette"]
    node(build, "fc2").locator(".ll-node-header").click()  # opens the details panel: a narrower pane
    expect(build.locator('.ll-details[data-node-id="fc2"]')).to_be_visible()
    view = settled(build, 11)
    assert "fc2" not in view["outside"], view  # the selection stays in view...
    assert view["title"] >= MIN_TITLE_PX, view  # ...at a readable size (the rest may be panned off)
    build.get_by_role("button", name="Fit view", exact=True).click()
    view = settled(build, 11)
    assert not view["outside"], view  # Fit view fits with palette and details both open
    build.get_by_role("button", name="Layers", exact=True).click()  # the palette folds away
    view = settled(build, 11)
    assert not view["palette"], view
    assert_readable_and_whole(view, "palette folded, details open")
    build.get_by_role("button", name="Fit view", exact=True).click()
    assert_readable_and_whole(settled(build, 11), "Fit view, palette folded, details open")
    build.get_by_role("button", name="Layers", exact=True).click()
    assert settled(build, 11)["palette"]


def test_presenting_fills_the_window_and_shows_the_deepest_template_whole(build):
    # the template with the most nodes on the canvas (a block use is one node)
    count, name = max((len(load_template(info.name).nodes), info.name) for info in list_templates())
    load_from_gallery(build, name)
    expect(build.locator(".react-flow__node")).to_have_count(count, timeout=30_000)
    settled(build, count)
    build.get_by_role("button", name="Present", exact=True).click()
    canvas = build.locator(".ll-canvas").bounding_box()
    assert (canvas["width"], canvas["height"]) == tuple(map(float, build.size.split("x")))
    view = settled(build, count)
    build.screenshot(path=str(SHOTS / f"{build.size}-presenting.png"))
    assert_readable_and_whole(view, "presenting")
    build.keyboard.press("Escape")
    expect(build.locator(".ll-canvas--present")).to_have_count(0)

