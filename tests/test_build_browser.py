"""The Build page in a real Chromium against the real app: gestures on the canvas, checked twice.

Each test asserts on what the canvas shows and on what Python made of it (the summary table and
the totals above the canvas are drawn by Python from the session's graph). Screenshots land in
/tmp/build_shots/ for a human to look at.
"""
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from builder.templates import load_template
from tests.conftest import open_nav_page, open_page, wait_for_app
from tests.canvas_gestures import connect, drop_from_palette, edge_label, field, node, pane_box
from ui import share

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/build_shots")
PYTHON_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def shared_page(browser, app_url):
    """One session for the whole module: opening the app costs seconds on a busy 2-core box."""
    page = open_page(browser)
    page.goto(app_url)
    wait_for_app(page, timeout_ms=90_000)
    page.wait_for_selector(".react-flow__node", timeout=90_000)
    yield page
    page.context.close()


@pytest.fixture
def build(shared_page, request):
    """The shared page, reset to the default template (a Python replacement, as a person does)."""
    page = shared_page
    load_template_from_gallery(page, "mlp_digits")
    expect(page.locator(".react-flow__node")).to_have_count(6, timeout=PYTHON_TIMEOUT_MS)
    expect(metric(page, "Parameters")).to_have_text("9.6 K", timeout=PYTHON_TIMEOUT_MS)
    open_tab(page, "Summary")
    yield page
    SHOTS.mkdir(exist_ok=True)
    page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    errors, page.console_errors[:] = list(page.console_errors), []
    assert not errors


def summary_row(page, layer: str):
    """The summary table's rows for `layer` (Python drew them from the graph it holds)."""
    return page.locator('[data-testid="stTable"] tbody tr').filter(
        has=page.locator("th, td").get_by_text(layer, exact=True))


def expect_row(page, layer: str, *cells: str):
    """Wait until Python shows a row for `layer` holding every one of `cells`.

    While Streamlit reruns, the table of the previous run may still be on the page beside the new
    one, so this looks for a matching row rather than at the only row.
    """
    open_tab(page, "Summary")  # only the open tab is drawn
    row = summary_row(page, layer)
    for cell in cells:
        row = row.filter(has_text=cell)
    expect(row.first).to_be_visible(timeout=PYTHON_TIMEOUT_MS)


def metric(page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).locator(
        '[data-testid="stMetricValue"]')


def open_tab(page, name: str):
    wait_for_app(page)  # mid-rerun, the previous run's tabs are still on the page beside the new
    page.get_by_role("tab", name=name).click()


def load_template_from_gallery(page, name: str):
    open_tab(page, "Templates")
    page.locator(f".st-key-build-template-{name} button").click()
    wait_for_app(page)


def free_spot(page, dx: float = 0.12, dy: float = 0.8):
    """A point on the empty left margin of the pane (the graph runs down its middle)."""
    box = pane_box(page)
    return box["x"] + box["width"] * dx, box["y"] + box["height"] * dy


def graph_uploader(page):
    """The graph file's input (Save & share also has the model importer's)."""
    return page.locator('[data-testid="stFileUploader"]').filter(
        has_text="Open a graph JSON file").locator('input[type="file"]')


def test_the_default_template_shows_on_canvas_and_in_the_summary(build):
    expect(build.locator(".react-flow__node")).to_have_count(6)
    expect_row(build, "fc1", "Linear", "(128,)", "8,320")
    expect(metric(build, "Parameters")).to_have_text("9.6 K")


def test_drop_a_layer_and_connect_it(build):
    drop_from_palette(build, "Dropout", free_spot(build))
    expect(node(build, "dropout_1")).to_be_visible()
    expect_row(build, "dropout_1", "Dropout", "?")  # not connected yet: no shape
    expect(metric(build, "Problems")).not_to_have_text("0", timeout=PYTHON_TIMEOUT_MS)

    connect(build, "relu1", "dropout_1")
    expect_row(build, "dropout_1", "(128,)")
    expect(edge_label(build, "relu1", "dropout_1")).to_have_text("(128)")
    expect(metric(build, "Problems")).to_have_text("0", timeout=PYTHON_TIMEOUT_MS)


def test_editing_a_parameter_updates_shapes_and_totals(build):
    out_features = field(build, "fc1", "out_features")
    out_features.fill("32")
    out_features.press("Enter")
    expect(edge_label(build, "fc1", "relu1")).to_have_text("(32)", timeout=PYTHON_TIMEOUT_MS)
    expect_row(build, "fc1", "(32,)", "2,080")  # 64 * 32 weights + 32 biases
    expect(metric(build, "Parameters")).to_have_text("2.4 K")  # 2,080 + 32 * 10 + 10


def test_a_skip_connection_into_add(build):
    drop_from_palette(build, "Add", free_spot(build))
    expect(node(build, "add_1")).to_be_visible()
    connect(build, "relu1", "add_1", port=0)
    expect(build.locator('[data-testid="rf__edge-relu1->add_1:0"]')).to_have_count(1)
    connect(build, "fc1", "add_1", port=1)  # the skip: fc1 jumps over the activation
    expect_row(build, "add_1", "Add", "(128,)")
    expect(edge_label(build, "fc1", "add_1", port=1)).to_have_text("(128)")
    expect(metric(build, "Problems")).to_have_text("0", timeout=PYTHON_TIMEOUT_MS)


def test_delete_a_layer_then_repair_the_graph_with_the_fix_on_the_node(build):
    node(build, "flat").locator(".ll-node-header").click()
    build.keyboard.press("Delete")
    expect(node(build, "flat")).to_have_count(0)
    expect(summary_row(build, "flat")).to_have_count(0, timeout=PYTHON_TIMEOUT_MS)

    connect(build, "x", "fc1")  # an image straight into Linear: the validator offers Flatten
    fix = node(build, "fc1").locator(".ll-fix")
    expect(fix).to_have_text("Insert Flatten before fc1", timeout=PYTHON_TIMEOUT_MS)
    expect(metric(build, "Problems")).to_have_text("1")
    fix.click()  # the canvas asks Python to apply the validator's fix
    expect(metric(build, "Problems")).to_have_text("0", timeout=PYTHON_TIMEOUT_MS)
    expect(build.locator(".ll-node-type").get_by_text("Flatten", exact=True)).to_have_count(1)
    expect_row(build, "fc1", "(128,)", "8,320")
    applied = build.locator('[data-testid="stToast"]').filter(
        has_text="Applied: Insert Flatten before fc1")
    expect(applied.first).to_be_visible()  # a toast, still there after the canvas's own rerun


def test_the_open_tab_stays_open_while_problems_come_and_go(build):
    open_tab(build, "Export")
    node(build, "flat").locator(".ll-node-header").click()
    build.keyboard.press("Delete")  # Python now lists a problem above the tabs
    expect(metric(build, "Problems")).to_have_text("1", timeout=PYTHON_TIMEOUT_MS)
    wait_for_app(build)
    expect(build.get_by_role("tab", name="Export")).to_have_attribute("aria-selected", "true")
    expect(build.get_by_text("Export needs a graph without problems")).to_be_visible()


def test_loading_a_template_redraws_canvas_and_summary(build):
    load_template_from_gallery(build, "resnet_small")
    expect(node(build, "layer1")).to_be_visible(timeout=PYTHON_TIMEOUT_MS)
    expect(build.locator(".react-flow__node")).to_have_count(8)  # the BasicBlock shown collapsed
    expect_row(build, "layer1", "BasicBlock", "(16, 28, 28)")


def test_save_then_load_round_trips_the_graph(build, tmp_path):
    load_template_from_gallery(build, "gru_forecast")
    expect_row(build, "gru", "GRU")
    open_tab(build, "Save & share")
    with build.expect_download() as download:
        build.get_by_role("button", name="Download graph JSON").click()
    saved = tmp_path / "saved.json"
    download.value.save_as(saved)
    assert json.loads(saved.read_text()) == load_template("gru_forecast").to_dict()

    load_template_from_gallery(build, "mlp_digits")
    expect(summary_row(build, "gru")).to_have_count(0, timeout=PYTHON_TIMEOUT_MS)
    open_tab(build, "Save & share")
    graph_uploader(build).set_input_files(saved)
    expect_row(build, "gru", "GRU")
    expect(node(build, "gru")).to_be_visible(timeout=PYTHON_TIMEOUT_MS)


def test_a_hostile_upload_is_refused_and_the_graph_kept(build, tmp_path):
    hostile = tmp_path / "evil.json"
    hostile.write_text('{"name": "<img src=x onerror=alert(1)>", "nodes": 5}')
    open_tab(build, "Save & share")
    graph_uploader(build).set_input_files(hostile)
    refusal = build.locator('[data-testid="stAlertContentError"]').filter(
        has_text="evil.json” is not a valid graph")
    expect(refusal).to_be_visible(timeout=PYTHON_TIMEOUT_MS)  # beside the uploader, tab kept open
    expect(build.locator('[data-testid="stAlertContentError"] img')).to_have_count(0)
    expect(build.locator(".react-flow__node")).to_have_count(6)
    expect_row(build, "fc1", "Linear")


def test_a_share_link_opens_the_graph_in_a_new_session(build):
    graph = load_template("cnn_seed").to_dict()
    open_tab(build, "Save & share")
    link = build.locator('[data-testid="stCode"]').filter(has_text="graph=").first.inner_text()
    assert share.decode_graph(link.strip().split("graph=", 1)[1]) == load_template(
        "mlp_digits").to_dict()
    fresh = build.context.new_page()
    fresh.on("pageerror", lambda error: build.console_errors.append(str(error)))
    fresh.goto(f"{build.url.split('?')[0]}?graph={share.encode_graph(graph)}")
    wait_for_app(fresh, timeout_ms=90_000)
    expect(fresh.locator(".react-flow__node")).to_have_count(len(graph["nodes"]),
                                                             timeout=PYTHON_TIMEOUT_MS)
    expect_row(fresh, "fc2", "(10,)")
    expect(metric(fresh, "Parameters")).to_have_text("225.0 K")
    fresh.close()


def test_an_edit_survives_a_trip_to_the_train_page(build):
    out_features = field(build, "fc1", "out_features")
    out_features.fill("48")
    out_features.press("Enter")
    expect_row(build, "fc1", "(48,)")
    open_nav_page(build, "Train")
    wait_for_app(build, timeout_ms=90_000)
    open_nav_page(build, "Build")
    expect(field(build, "fc1", "out_features")).to_have_value("48", timeout=PYTHON_TIMEOUT_MS)
    expect_row(build, "fc1", "(48,)", "3,120")  # 64 * 48 + 48
