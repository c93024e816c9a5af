"""Blocks on the Build page's canvas in a real Chromium: a block use is one collapsed node with
its shapes, opening it shows the layers inside (shapes from Python), and an edit inside changes
the block's definition, so every use of it. Screenshots land in /tmp/build_shots/."""
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from builder.templates import load_template
from tests.canvas_gestures import edge_label, field, node
from tests.test_build_browser import (  # noqa: F401 - shared_page: the module's one session
    PYTHON_TIMEOUT_MS, expect_row, free_spot, graph_uploader, load_template_from_gallery, metric, open_tab,
    shared_page)

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/build_shots")


@pytest.fixture
def resnet(shared_page, request):
    """The shared page with resnet_small loaded: stem, a BasicBlock use 'layer1', pool, fc."""
    page = shared_page
    load_template_from_gallery(page, "resnet_small")
    expect(node(page, "layer1")).to_be_visible(timeout=PYTHON_TIMEOUT_MS)
    expect(metric(page, "Parameters")).to_have_text("5.1 K", timeout=PYTHON_TIMEOUT_MS)
    yield page
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    errors, page.console_errors[:] = list(page.console_errors), []
    assert not errors


def open_block(page, node_id):
    node(page, node_id).get_by_role("button", name="Open block").click()


def test_a_block_use_is_one_node_showing_its_shapes_copies_and_parameters(resnet):
    layer1 = node(resnet, "layer1")
    expect(layer1.locator(".ll-node-type")).to_have_text("BasicBlock")
    expect(layer1).to_contain_text("(16, 28, 28) → (16, 28, 28)")
    expect(layer1).to_contain_text("4,704 params")
    expect(resnet.locator(".react-flow__node")).to_have_count(8)  # the block's 8 layers folded
    first_group = resnet.locator(".ll-palette-group").first  # the graph's blocks come first
    expect(first_group.locator("h3")).to_have_text("Blocks")
    expect(first_group.locator('.ll-palette-entry[data-type="BasicBlock"]')).to_be_in_viewport()


def test_opening_a_block_shows_its_layers_with_shapes_and_the_way_back(resnet):
    open_block(resnet, "layer1")
    for inner in ("x", "conv1", "bn1", "relu1", "conv2", "bn2", "skip", "relu2"):
        expect(node(resnet, inner)).to_be_visible(timeout=PYTHON_TIMEOUT_MS)
    expect(node(resnet, "stem")).to_have_count(0)
    bar = resnet.locator(".ll-blockbar")
    expect(bar).to_contain_text("Editing block BasicBlock: changes apply to every use of it")
    expect(edge_label(resnet, "conv1", "bn1")).to_have_text("(16, 28, 28)",
                                                           timeout=PYTHON_TIMEOUT_MS)
    expect(bar).to_contain_text("4,704 parameters per copy")
    # the palette offers no block inside itself
    expect(resnet.locator('.ll-palette-entry[data-type="BasicBlock"]')).to_have_count(0)
    bar.get_by_role("button", name="Model").click()
    expect(node(resnet, "stem")).to_be_visible()
    expect(node(resnet, "conv1")).to_have_count(0)


def test_an_edit_inside_a_block_changes_every_use_and_persists(resnet):
    node(resnet, "layer1").locator(".ll-node-header").click()
    resnet.locator('.ll-palette-entry[data-type="BasicBlock"]').click()  # a second use, after it
    expect(node(resnet, "basicblock_1")).to_contain_text("4,704 params",
                                                         timeout=PYTHON_TIMEOUT_MS)
    node(resnet, "basicblock_1").dblclick()  # double-click opens too
    bias = field(resnet, "conv1", "bias")
    bias.uncheck()
    expect(resnet.locator(".ll-blockbar")).to_contain_text("4,688 parameters per copy",
                                                           timeout=PYTHON_TIMEOUT_MS)
    resnet.locator(".ll-blockbar").get_by_role("button", name="Model").click()
    for use in ("layer1", "basicblock_1"):  # both read the one definition
        expect(node(resnet, use)).to_contain_text("4,688 params", timeout=PYTHON_TIMEOUT_MS)
        expect_row(resnet, use, "BasicBlock", "4,688")
    open_block(resnet, "layer1")  # the edit is in the definition Python holds, not just drawn
    field(resnet, "conv1", "bias")
    expect(resnet.locator('.ll-details[data-node-id="conv1"]').get_by_label(
        "bias", exact=True)).not_to_be_checked()


def nested_resnet() -> dict:
    """resnet_small with its BasicBlock used twice inside a Stage block: layer1 is a Stage."""
    graph = load_template("resnet_small").to_dict()
    graph["blocks"]["Stage"] = {
        "params": {"channels": 16},
        "nodes": [{"id": "x", "type": "Input", "params": {}},
                  {"id": "a", "type": "BasicBlock", "params": {"channels": "$channels"}},
                  {"id": "b", "type": "BasicBlock", "params": {"channels": "$channels"}}],
        "edges": [{"source": "x", "target": "a"}, {"source": "a", "target": "b"}],
        "layout": {"x": {"x": 40, "y": 0}, "a": {"x": 0, "y": 90}, "b": {"x": 0, "y": 230}}}
    next(n for n in graph["nodes"] if n["id"] == "layer1")["type"] = "Stage"
    return graph


def test_nested_block_uses_show_their_shapes_and_a_problem_sits_where_it_is(
        shared_page, tmp_path):
    page = shared_page
    saved = tmp_path / "nested.json"
    saved.write_text(json.dumps(nested_resnet()))
    open_tab(page, "Save & share")
    graph_uploader(page).set_input_files(saved)
    layer1 = node(page, "layer1")
    expect(layer1).to_contain_text("(16, 28, 28) → (16, 28, 28)", timeout=PYTHON_TIMEOUT_MS)
    expect(layer1).to_contain_text("9,408 params")  # two BasicBlocks of 4,704
    open_block(page, "layer1")
    for use in ("a", "b"):  # collapsed inside the opened Stage, with their own shapes
        expect(node(page, use)).to_contain_text("(16, 28, 28) → (16, 28, 28)",
                                                timeout=PYTHON_TIMEOUT_MS)
        expect(node(page, use)).to_contain_text("4,704 params")
    open_block(page, "a")
    bar = page.locator(".ll-blockbar")
    expect(bar).to_contain_text("Stage (layer1)")
    expect(bar).to_contain_text("BasicBlock (a)")
    expect(edge_label(page, "conv1", "bn1")).to_have_text("(16, 28, 28)",
                                                         timeout=PYTHON_TIMEOUT_MS)

    kernel = field(page, "conv1", "kernel_size")  # bigger than the 28-pixel image
    kernel.fill("40")
    kernel.press("Enter")
    message = "Conv2d 'layer1.a.conv1'"
    expect(node(page, "conv1").locator(".ll-problems")).to_contain_text(
        message, timeout=PYTHON_TIMEOUT_MS)  # on the layer itself while its block is open
    expect(node(page, "bn1").locator(".ll-problems")).to_have_count(0)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "nested_problem_open.png"))
    bar.get_by_role("button", name="Stage (layer1)").click()
    expect(node(page, "a").locator(".ll-problems")).to_contain_text(message,
                                                                    timeout=PYTHON_TIMEOUT_MS)
    bar.get_by_role("button", name="Model").click()
    expect(node(page, "layer1").locator(".ll-problems")).to_contain_text(
        message, timeout=PYTHON_TIMEOUT_MS)  # collapsed: on the block, naming the layer
    problems = page.locator(".st-key-build-problems")
    expect(problems).to_contain_text("node layer1.a.conv1 (inside block layer1), field "
                                     "kernel_size", timeout=PYTHON_TIMEOUT_MS)
    page.screenshot(path=str(SHOTS / "nested_problem_closed.png"))
    errors, page.console_errors[:] = list(page.console_errors), []
    assert not errors


def select(page, *node_ids):
    """Click the first layer, Shift+click the others: the selection Make block takes."""
    page.mouse.click(*free_spot(page))  # an empty spot clears the selection
    node(page, node_ids[0]).locator(".ll-node-header").click()
    for other in node_ids[1:]:
        node(page, other).locator(".ll-node-header").click(modifiers=["Shift"])


def make_block(page, name):
    page.locator(".ll-toolbar").get_by_role("button", name="Make block").click()
    box = page.get_by_label("Block name")
    box.fill(name)
    box.press("Enter")


def test_make_block_from_selected_layers_then_undo(shared_page):
    page = shared_page
    load_template_from_gallery(page, "cnn_seed")
    expect(metric(page, "Parameters")).to_have_text("225.0 K", timeout=PYTHON_TIMEOUT_MS)
    select(page, "conv1", "conv2")  # not wired to each other: refused, graph kept
    make_block(page, "Apart")
    expect(page.locator(".ll-status")).to_contain_text(
        "Cannot make a block: the selected layers are not connected", timeout=PYTHON_TIMEOUT_MS)
    expect(node(page, "conv2")).to_be_visible()

    select(page, "conv1", "relu1", "pool1")
    make_block(page, "ConvBlock")
    use = node(page, "convblock")
    expect(use).to_be_visible(timeout=PYTHON_TIMEOUT_MS)
    expect(use.locator(".ll-node-type")).to_have_text("ConvBlock")
    expect(use).to_contain_text("(1, 28, 28) → (32, 13, 13)", timeout=PYTHON_TIMEOUT_MS)
    expect(use).to_contain_text("320 params")
    expect(node(page, "conv1")).to_have_count(0)
    expect(edge_label(page, "convblock", "conv2")).to_have_text("(32, 13, 13)")
    expect_row(page, "convblock", "ConvBlock", "320")  # Python holds the new graph
    expect(metric(page, "Parameters")).to_have_text("225.0 K")  # the same model
    expect(page.locator('.ll-palette-entry[data-type="ConvBlock"]')).to_have_count(1)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "make_block_done.png"))

    page.locator(".ll-toolbar").get_by_role("button", name="Undo").click()
    expect(node(page, "conv1")).to_be_visible(timeout=PYTHON_TIMEOUT_MS)
    expect(node(page, "convblock")).to_have_count(0)
    expect_row(page, "conv1", "Conv2d", "320")
    errors, page.console_errors[:] = list(page.console_errors), []
    assert not errors


def test_make_block_inside_an_opened_block(resnet):
    open_block(resnet, "layer1")
    expect(edge_label(resnet, "conv1", "bn1")).to_have_text("(16, 28, 28)",
                                                           timeout=PYTHON_TIMEOUT_MS)
    select(resnet, "conv1", "bn1", "relu1")
    make_block(resnet, "ConvBnRelu")
    use = node(resnet, "convbnrelu")  # used inside BasicBlock, shapes from Python
    expect(use).to_contain_text("(16, 28, 28) → (16, 28, 28)", timeout=PYTHON_TIMEOUT_MS)
    expect(use).to_contain_text("2,352 params")
    expect(node(resnet, "conv1")).to_have_count(0)
    expect(resnet.locator(".ll-blockbar")).to_contain_text("BasicBlock (layer1)")
    expect(metric(resnet, "Parameters")).to_have_text("5.1 K")  # the same model
    resnet.locator(".ll-toolbar").get_by_role("button", name="Undo").click()
    expect(node(resnet, "conv1")).to_be_visible(timeout=PYTHON_TIMEOUT_MS)
    expect(node(resnet, "convbnrelu")).to_have_count(0)
