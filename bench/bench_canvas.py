"""Canvas speed and weight, measured in a real Chromium against tests/apps/canvas_harness.py.

    .venv/bin/python bench/bench_canvas.py [--nodes 50 150] [--edits 12] [--page build]
        [--blocks REPEAT]   (a graph of collapsed block uses, issue #15)

- Edit -> updated shape labels: a parameter is typed into the details panel of a node of an N-node
  graph and Enter pressed; the clock (in the page, performance.now) stops when the edge label
  downstream shows the new shape, i.e. the full round trip: browser -> Python rerun (validate) ->
  browser re-render. Target (issues #5, #13): under 300 ms for 50 nodes and for 150 nodes.
- Rerun payload: bytes the browser receives over the websocket per edit (uncompressed frames),
  next to the size of what the component needs: bundle JS, CSS, and the `data` JSON.

Measured 2026-11-23 on the shared 2-core dev machine (load average 11-19 during the runs, so
every figure is inflated), 50 nodes / 65 edges, 12 edits, three runs:
  edit -> shape label  median 200 / 308 / 371 ms, p90 275 / 530 / 468 ms
  per edit received    46.9 KiB (7 KiB of it the harness's own printout); 21.4 KiB once the
                       catalog moved into the cached runtime element (latency then not
                       re-measured cleanly: load average 30-48 at that time)
Measured 2026-11-27 (issue 13's canvas: compact nodes, fields in the details panel) on the same
shared 2-core machine at load average 19-24, each figure next to the previous canvas (commit
84df7e0) run straight before it, 8 edits each:
  50 nodes   median 1,424 ms (previous canvas 1,809 ms)
  150 nodes  median 3,637 ms (previous canvas 4,139 ms); a 12-edit run gave 3,137 ms
The box was ~10x oversubscribed, so only the comparison means anything: no slower than before.
Re-measured 2026-11-27 at load 2-4 (12 edits), the harness printing its graph as plain text:
  canvas alone   50 nodes median 102 ms, 150 nodes median 220 ms
  Build page     50 nodes median 253 ms, 150 nodes median 416 ms (--page build; 379 / 781 ms
                 before Build drew only its open tab)
Blocks (issue 15), 2026-11-27 at load 9.6-10.6, 150 top-level nodes, 12 edits, side by side:
  canvas alone   146 collapsed blocks (584 layers inside) median 373 ms, flat 421 ms;
                 --blocks 2 (1,168 layers inside) 740 ms
  Build page     blocks 1,449 ms, flat 1,220 ms (load 4.6-10)
(validate groups a block node's members once: 150 -> 107 ms for the 584-layer graph.)
How to ship the 415 KiB bundle (Streamlit re-sends a component's whole element, JS included,
whenever its data changes; an unchanged element goes out as a 74-byte cache reference):
  inline js= in the canvas element   462,741-byte canvas element on every edit (measured)
  package asset_dir (pyproject)      URL only, but the app must be pip-installed with a manifest
  runtime + loader (chosen)          runtime element (bundle + catalog) cached after the first
                                     run: 74 bytes per edit; canvas element = 0.3 KiB loader +
                                     graph + report (~14 KiB for 50 nodes)
"""
import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server, wait_for_app  # noqa: E402

# Types the value into n1's out_features (details panel), presses Enter, and waits for the n1 -> n2
# edge label.
EDIT_AND_WAIT = """async ([value, expected]) => {
  const host = [...document.querySelectorAll('*')].find((e) => e.shadowRoot?.querySelector('.ll-canvas'));
  const root = host.shadowRoot;
  const input = root.querySelector('.ll-details[data-node-id="n1"] input[aria-label="out_features"]');
  const label = () => root.querySelector('.ll-edge-label[data-edge="n1->n2:0"]')?.textContent;
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  input.focus();
  setValue.call(input, String(value));
  input.dispatchEvent(new Event('input', { bubbles: true }));
  const start = performance.now();
  input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  while (label() !== expected) await new Promise((r) => requestAnimationFrame(r));
  return performance.now() - start;
}"""


def residual_graph(n_nodes: int, width: int = 64) -> dict:
    """Input, then Linear -> ReLU -> Add(ReLU, Linear) blocks: every shape follows n1's width."""
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [width]}}]
    edges, previous = [], "x"
    for i in range(1, n_nodes):
        kind = ("Linear", "ReLU", "Add")[(i - 1) % 3]
        nodes.append({"id": f"n{i}", "type": kind,
                      "params": {"out_features": width} if kind == "Linear" else {}})
        edges.append({"source": previous, "target": f"n{i}", "port": 0})
        if kind == "Add":
            edges.append({"source": f"n{i - 2}", "target": f"n{i}", "port": 1})
        previous = f"n{i}"
    return {"version": 1, "name": f"bench{n_nodes}", "nodes": nodes, "edges": edges, "layout": {}}


def blocks_graph(n_nodes: int, width: int = 64, repeat: int = 1) -> dict:
    """Input, n1 Linear, n2 ReLU, n3 Linear back to `width`, then block uses up to n_nodes
    top-level nodes, each a collapsed Residual block (LayerNorm -> ReLU -> Dropout -> Add with its
    input, `repeat` copies): a 150-node graph holds 146 blocks of 4 layers (x `repeat`). As in
    residual_graph, the edit of n1 changes a few shapes and Python re-checks every layer."""
    block = {"params": {},
             "nodes": [{"id": "x", "type": "Input", "params": {}},
                       {"id": "norm", "type": "LayerNorm", "params": {}},
                       {"id": "act", "type": "ReLU", "params": {}},
                       {"id": "drop", "type": "Dropout", "params": {"p": 0.1}},
                       {"id": "add", "type": "Add", "params": {}}],
             "edges": [{"source": "x", "target": "norm"}, {"source": "norm", "target": "act"},
                       {"source": "act", "target": "drop"},
                       {"source": "drop", "target": "add", "port": 0},
                       {"source": "x", "target": "add", "port": 1}]}
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [width]}},
             {"id": "n1", "type": "Linear", "params": {"out_features": width}},
             {"id": "n2", "type": "ReLU", "params": {}},
             {"id": "n3", "type": "Linear", "params": {"out_features": width}}]
    nodes += [{"id": f"n{i}", "type": "Residual", "params": {"repeat": repeat}}
              for i in range(4, n_nodes)]
    edges = [{"source": a["id"], "target": b["id"], "port": 0} for a, b in zip(nodes, nodes[1:])]
    return {"version": 2, "name": f"blocks{n_nodes}", "blocks": {"Residual": block},
            "nodes": nodes, "edges": edges, "layout": {}}


def component_sizes(graph: dict) -> dict:
    from builder import catalog_json, validate
    data = {"graph": graph, "catalog": catalog_json(), "report": validate(graph).to_json()}
    dist = ROOT / "ui" / "canvas" / "dist"
    return {"runtime.js": (dist / "runtime.js").stat().st_size,
            "loader.js": (dist / "loader.js").stat().st_size,
            **{f"data.{k}": len(json.dumps(v)) for k, v in data.items()}}


def measure(url: str, edits: int) -> tuple[list[float], list[int], list[int]]:
    """Edit latencies (ms) and websocket bytes received and sent per edit, on the page at `url`."""
    from playwright.sync_api import sync_playwright
    received, sent = [0], [0]
    latencies, received_per_edit, sent_per_edit = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.on("websocket", lambda ws: (
            ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload))),
            ws.on("framesent", lambda payload: sent.__setitem__(0, sent[0] + len(payload)))))
        page.goto(url)
        wait_for_app(page)
        page.wait_for_selector('.react-flow__node[data-id="n1"]', timeout=60000)
        page.wait_for_timeout(1000)
        wait_for_app(page)  # the canvas arranges the position-less graph on load: one edit
        page.locator('.react-flow__node[data-id="n1"] .ll-node-header').click()  # opens its fields
        page.wait_for_selector('.ll-details[data-node-id="n1"] input[aria-label="out_features"]')
        wait_for_app(page)
        for i in range(edits):
            value = 40 + i  # a new value each time: a repeated one would hit the message cache
            received[0] = sent[0] = 0
            latencies.append(page.evaluate(EDIT_AND_WAIT, [value, f"({value})"]))
            wait_for_app(page)  # let the rerun finish so its last frames are counted
            page.wait_for_timeout(300)
            received_per_edit.append(received[0])
            sent_per_edit.append(sent[0])
        browser.close()
    return latencies, received_per_edit, sent_per_edit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[50, 150])
    parser.add_argument("--edits", type=int, default=12)
    parser.add_argument("--page", choices=("harness", "build"), default="harness",
                        help="the canvas alone (tests/apps/canvas_harness.py), or the app's Build "
                             "page with everything else it redraws on an edit")
    parser.add_argument("--blocks", type=int, default=0, metavar="REPEAT",
                        help="a graph of collapsed block uses, each repeated REPEAT times "
                             "(blocks_graph), instead of a flat one")
    args = parser.parse_args()
    for n_nodes in args.nodes:
        bench_one(n_nodes, args.edits, args.page, args.blocks)


def bench_one(n_nodes: int, edits: int, page: str, blocks: int = 0) -> None:
    graph = blocks_graph(n_nodes, repeat=blocks) if blocks else residual_graph(n_nodes)
    if page == "build":  # the graph arrives as a share link does
        from ui.share import encode_graph, share_url
        with streamlit_server("app.py") as (_, url):
            latencies, received, sent = measure(share_url(url, encode_graph(graph)), edits)
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(graph, f)
        try:
            with streamlit_server("tests/apps/canvas_harness.py",
                                  env={"LAYERLOOM_CANVAS_GRAPH": f.name}) as (_, url):
                latencies, received, sent = measure(url, edits)
        finally:
            Path(f.name).unlink()
    ordered = sorted(latencies)
    inside = f", {len(graph['nodes']) - 4} collapsed blocks of 4 x {blocks} layers" if blocks else ""
    print(f"{page}: {n_nodes} nodes, {len(graph['edges'])} edges{inside}; {edits} edits")
    print(f"edit -> shape label: median {statistics.median(latencies):.0f} ms, "
          f"p90 {ordered[int(0.9 * (len(ordered) - 1))]:.0f} ms, max {ordered[-1]:.0f} ms "
          f"(target < 300 ms)")
    sizes = component_sizes(graph)
    per_edit = statistics.median(received)
    print(f"websocket per edit: received median {per_edit / 1024:.1f} KiB (on the harness, its "
          f"own st.code printout included), sent median {statistics.median(sent) / 1024:.1f} KiB")
    inline = per_edit + sizes["runtime.js"] + sizes["data.catalog"]
    print(f"  the same with bundle and catalog inline in the canvas element: ~{inline / 1024:.0f} KiB "
          f"per edit (they now travel once per session in the cached runtime element)")
    for name, size in sizes.items():
        print(f"  {name:<14} {size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()
