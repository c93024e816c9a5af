"""The canvas in a real Chromium, against tests/apps/canvas_harness.py (the real builder behind it).

Each test makes a real gesture (drop, mouse drag, typing, keys) and asserts twice: on the graph
Python received (the harness prints it) and on what the page shows. Screenshots land in
/tmp/canvas_shots/ for a human to look at.
"""
import json
import re
import time
from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api").expect

from tests.canvas_gestures import (centre, connect, drop_from_palette, edge_label, field, mouse_drag,
                                   node, pane_box)
from tests.conftest import open_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/canvas_shots")


@pytest.fixture(scope="module")
def harness_url():
    with streamlit_server("tests/apps/canvas_harness.py") as (_, url):
        yield url


@pytest.fixture(scope="module")
def shared_page(browser, harness_url):
    """One page for the module (loading the app costs seconds); each test starts over."""
    page = open_page(browser)
    page.goto(harness_url)
    wait_for_app(page, timeout_ms=90_000)
    page.wait_for_selector(".react-flow__node", timeout=90_000)  # the editor's first mount
    yield page
    page.context.close()


@pytest.fixture
def canvas(shared_page, request):
    """The harness's start graph as a fresh revision: the component must drop its local state."""
    page = shared_page
    _, info = python_side(page) if page.locator('[data-testid="stCode"]').count() else ({}, {})
    page.get_by_role("button", name="Start over").click()
    wait_for_python(page, lambda g, i: i["revision"] > info.get("revision", 0) and len(g["nodes"]) == 3
                    and i["selected"] is None)
    expect(page.locator(".react-flow__node")).to_have_count(3, timeout=20_000)  # a remount
    yield page
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    assert not page.console_errors


def python_side(page) -> tuple[dict, dict]:
    """(graph, {"selected", "action", "runs", "valid"}) as the harness last printed them."""
    graph_text, info_text = page.locator('[data-testid="stCode"] code').all_inner_texts()[:2]
    return json.loads(graph_text), json.loads(info_text)


def wait_for_python(page, predicate, timeout_s=15.0):
    """Poll until predicate(graph, info) holds; returns the graph. Fails with the last graph."""
    deadline = time.time() + timeout_s
    graph = None
    while time.time() < deadline:
        try:
            graph, info = python_side(page)
            if predicate(graph, info):
                return graph
        except (ValueError, IndexError):  # mid-rerun: the code blocks are being replaced
            pass
        page.wait_for_timeout(100)
    raise AssertionError(f"Python never received the expected graph; last: {graph}")


def has_edge(graph, source, target, port=0):
    return any(e["source"] == source and e["target"] == target and e.get("port", 0) == port
               for e in graph["edges"])


def test_drop_from_palette_adds_a_layer_and_moving_it_is_reported(canvas):
    box = pane_box(canvas)
    drop_from_palette(canvas, "Dropout", (box["x"] + 300, box["y"] + 420))
    graph = wait_for_python(canvas, lambda g, _: any(n["type"] == "Dropout" for n in g["nodes"]))
    added = next(n for n in graph["nodes"] if n["type"] == "Dropout")
    assert added["params"] == {"p": 0.5}  # catalog defaults are written into the graph
    assert node(canvas, added["id"]).get_by_text("Dropout", exact=True).is_visible()

    before = graph["layout"][added["id"]]
    header = node(canvas, added["id"]).locator(".ll-node-header")
    start = centre(header)
    mouse_drag(canvas, start, (start[0] + 120, start[1] + 60))
    wait_for_python(canvas, lambda g, _: g["layout"][added["id"]]["x"] > before["x"] + 60)


def test_connect_two_layers_by_dragging_between_handles(canvas):
    box = pane_box(canvas)
    drop_from_palette(canvas, "Linear", (box["x"] + 420, box["y"] + 420))
    wait_for_python(canvas, lambda g, _: any(n["id"] == "linear_1" for n in g["nodes"]))
    connect(canvas, "act", "linear_1")
    wait_for_python(canvas, lambda g, _: has_edge(g, "act", "linear_1"))
    expect(edge_label(canvas, "act", "linear_1")).to_have_text("(32)")


def test_editing_a_parameter_updates_the_shape_labels(canvas):
    out_features = field(canvas, "fc1", "out_features")
    out_features.fill("64")
    out_features.press("Enter")
    wait_for_python(canvas, lambda g, _: g["nodes"][1]["params"]["out_features"] == 64)
    expect(edge_label(canvas, "fc1", "act")).to_have_text("(64)")


def test_a_bad_value_stays_in_the_field_with_a_message_and_is_not_sent(canvas):
    out_features = field(canvas, "fc1", "out_features")
    out_features.fill("0")
    out_features.press("Enter")
    expect(canvas.locator(".ll-details").get_by_role("alert")).to_have_text("out_features must be at least 1")
    canvas.wait_for_timeout(500)
    graph, _ = python_side(canvas)
    assert graph["nodes"][1]["params"]["out_features"] == 32


def test_skip_connection_into_the_second_port_of_add(canvas):
    canvas.get_by_role("button", name="Fit view").click()
    canvas.locator('.ll-palette-entry[data-type="Add"]').click()
    wait_for_python(canvas, lambda g, _: any(n["id"] == "add_1" for n in g["nodes"]))
    canvas.get_by_role("button", name="Auto-layout").click()
    canvas.wait_for_timeout(400)
    connect(canvas, "act", "add_1", port=0)
    wait_for_python(canvas, lambda g, _: has_edge(g, "act", "add_1", 0))
    connect(canvas, "fc1", "add_1", port=1)  # the skip: fc1 jumps over the activation
    wait_for_python(canvas, lambda g, info: has_edge(g, "fc1", "add_1", 1) and info["valid"])
    expect(edge_label(canvas, "fc1", "add_1", port=1)).to_have_text("(32)")
    expect(node(canvas, "add_1").locator(".ll-shape")).to_have_text("(32)")


def test_delete_a_layer_with_the_keyboard_then_undo_and_redo(canvas):
    node(canvas, "act").locator(".ll-node-header").click()
    wait_for_python(canvas, lambda _, info: info["selected"] == "act")
    canvas.keyboard.press("Delete")
    graph = wait_for_python(canvas, lambda g, _: all(n["id"] != "act" for n in g["nodes"]))
    assert not has_edge(graph, "fc1", "act")
    assert node(canvas, "act").count() == 0

    canvas.keyboard.press("Control+z")  # focus fell to <body> with the deleted node
    graph = wait_for_python(canvas, lambda g, _: any(n["id"] == "act" for n in g["nodes"]))
    assert has_edge(graph, "fc1", "act")
    assert node(canvas, "act").is_visible()

    canvas.get_by_role("button", name="Redo").click()
    wait_for_python(canvas, lambda g, _: all(n["id"] != "act" for n in g["nodes"]))
    expect(node(canvas, "act")).to_have_count(0)


def test_keyboard_only_adds_a_layer_connected_after_the_selection(canvas):
    node(canvas, "act").locator(".ll-node-header").click()
    wait_for_python(canvas, lambda _, info: info["selected"] == "act")
    entry = canvas.locator('.ll-palette-entry[data-type="Linear"]')
    entry.focus()
    entry.press("Enter")
    wait_for_python(canvas, lambda g, _: has_edge(g, "act", "linear_1"))
    assert node(canvas, "linear_1").is_visible()


def test_a_problem_shows_on_its_node_and_its_one_click_fix_reaches_python(canvas):
    shape = field(canvas, "x", "shape")
    shape.fill("1, 8, 8")
    shape.press("Enter")
    fix = node(canvas, "fc1").get_by_role("button", name="Insert Flatten before fc1")
    expect(fix).to_be_visible()
    expect(node(canvas, "fc1").locator(".ll-node")).to_have_class(re.compile("ll-node--problem"))
    fix.click()
    graph = wait_for_python(canvas, lambda g, info: info["valid"]
                            and any(n["type"] == "Flatten" for n in g["nodes"]))
    flatten = next(n["id"] for n in graph["nodes"] if n["type"] == "Flatten")
    assert has_edge(graph, "x", flatten) and has_edge(graph, flatten, "fc1")
    expect(edge_label(canvas, flatten, "fc1")).to_have_text("(64)")
    expect(canvas.locator(".ll-node--problem")).to_have_count(0)


def test_select_an_edge_and_delete_it_with_the_toolbar(canvas):
    canvas.locator('[data-testid="rf__edge-fc1->act:0"]').click()
    canvas.get_by_role("button", name="Delete").click()
    graph = wait_for_python(canvas, lambda g, _: not has_edge(g, "fc1", "act"))
    assert [n["id"] for n in graph["nodes"]] == ["x", "fc1", "act"]  # the layers stay
    expect(canvas.locator('[data-testid="rf__edge-fc1->act:0"]')).to_have_count(0)


def test_clicks_on_the_palette_build_a_chain_each_new_layer_selected_and_in_view(canvas):
    node(canvas, "act").locator(".ll-node-header").click()
    wait_for_python(canvas, lambda _, info: info["selected"] == "act")
    chain = [("ReLU", "relu_1"), ("Linear", "linear_1"), ("Dropout", "dropout_1")]
    previous = "act"
    for layer_type, new_id in chain:
        canvas.locator(f'.ll-palette-entry[data-type="{layer_type}"]').click()
        wait_for_python(canvas, lambda g, info, new_id=new_id: info["selected"] == new_id)
        expect(canvas.locator(".ll-palette-hint").first).to_have_text(f"Adds after {new_id}, connected")
        expect(canvas.locator(f'.ll-details[data-node-id="{new_id}"]')).to_be_visible()
        pane = pane_box(canvas)
        added = node(canvas, new_id).bounding_box()
        assert pane["y"] <= added["y"] and added["y"] + added["height"] <= pane["y"] + pane["height"]
        previous = new_id
    graph, _ = python_side(canvas)
    assert [(e["source"], e["target"]) for e in graph["edges"]][-3:] == [
        ("act", "relu_1"), ("relu_1", "linear_1"), ("linear_1", "dropout_1")]  # a chain, no fork
    assert previous == "dropout_1"


def test_handles_are_big_enough_to_hit_and_the_ports_of_add_are_apart(canvas):
    canvas.locator('.ll-palette-entry[data-type="Add"]').click()
    wait_for_python(canvas, lambda g, _: any(n["id"] == "add_1" for n in g["nodes"]))
    ports = node(canvas, "add_1").locator(".react-flow__handle.target")
    expect(ports).to_have_count(2)
    first, second = (ports.nth(i).bounding_box() for i in range(2))
    for handle in (first, second, node(canvas, "fc1").locator(".react-flow__handle.source").bounding_box()):
        assert handle["width"] >= 16 and handle["height"] >= 16, handle  # on screen, at this zoom
    gap = (second["x"] - first["x"]) - first["width"]  # empty space between the two hit targets
    assert gap >= 8, (first, second)
    expect(node(canvas, "add_1").locator(".ll-ports")).to_have_text("in 1in 2")


def test_full_layer_descriptions_on_hover_and_in_the_details_panel(canvas):
    from builder import CATALOG
    entry = canvas.locator('.ll-palette-entry[data-type="BatchNorm2d"]')
    doc = entry.locator(".ll-palette-doc")
    clipped = "e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1"
    assert doc.evaluate(clipped), "the resting palette shows one line per entry"
    entry.hover()
    assert not doc.evaluate(clipped), "hovering shows the whole description"
    assert doc.inner_text() == CATALOG["BatchNorm2d"].doc
    node(canvas, "fc1").locator(".ll-node-header").click()
    expect(canvas.locator(".ll-details")).to_contain_text(CATALOG["Linear"].doc)


def test_the_graph_downloads_as_svg_and_png_with_shapes_on_the_edges(canvas, tmp_path):
    import xml.etree.ElementTree as ElementTree
    with canvas.expect_download() as download:
        canvas.get_by_role("button", name="Download SVG").click()
    assert download.value.suggested_filename == "harness.svg"
    svg = ElementTree.fromstring(Path(download.value.path()).read_text())
    texts = ["".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert {"Inputx", "Linearfc1", "ReLUact"} <= set(texts), texts  # type + id per layer
    assert texts.count("(16)") == 1 and texts.count("(32)") == 2, texts  # two edge labels + act's output
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}path"))) >= 2  # the edges
    with canvas.expect_download() as download:
        canvas.get_by_role("button", name="Download PNG").click()
    SHOTS.mkdir(exist_ok=True)
    download.value.save_as(SHOTS / "export.png")  # for a human to look at
    png = (SHOTS / "export.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 2 * int(svg.get("width")) and height == 2 * int(svg.get("height"))
