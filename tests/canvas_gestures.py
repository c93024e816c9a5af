"""Gestures on the canvas in Playwright, shared by the canvas and Build page browser tests."""
from tests.conftest import wait_for_app


def node(page, node_id):
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def field(page, node_id, name):
    """A parameter field of `node_id`: selecting the layer opens it in the details panel."""
    node(page, node_id).locator(".ll-node-header").click()
    return page.locator(f'.ll-details[data-node-id="{node_id}"]').get_by_label(name, exact=True)


def edge_label(page, source, target, port=0):
    return page.locator(f'.ll-edge-label[data-edge="{source}->{target}:{port}"]')


def pane_box(page) -> dict:
    """The canvas pane's box, once it is on screen (a rerun may be remounting the canvas)."""
    flow = page.locator(".ll-flow")
    flow.wait_for(state="visible", timeout=30_000)
    return flow.bounding_box()


def centre(locator):
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def mouse_drag(page, start, end):
    """React Flow ignores Playwright's drag_to; a stepped mouse drag is what a hand does."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def drop_from_palette(page, layer_type, at):
    """An HTML5 drag from the palette entry to a point on the canvas, with one DataTransfer."""
    transfer = page.evaluate_handle("() => new DataTransfer()")
    page.locator(f'.ll-palette-entry[data-type="{layer_type}"]').dispatch_event(
        "dragstart", {"dataTransfer": transfer})
    flow = page.locator(".ll-flow")
    point = {"dataTransfer": transfer, "clientX": at[0], "clientY": at[1], "bubbles": True}
    flow.dispatch_event("dragover", point)
    flow.dispatch_event("drop", point)


def connect(page, source, target, port=0):
    """Drag from `source`'s output handle to `target`'s input `port`.

    The handles are measured once Python's rerun has settled: a report arriving mid-drag redraws
    the nodes (shapes, sizes) and can move the handle out from under the pointer.
    """
    wait_for_app(page)
    source_handle = node(page, source).locator(".react-flow__handle.source")
    target_handle = node(page, target).locator(f'.react-flow__handle[data-handleid="in{port}"]')
    mouse_drag(page, centre(source_handle), centre(target_handle))
