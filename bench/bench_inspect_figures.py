"""How long Chromium takes to draw the Inspect page's gradient chart after a long run, next to a
short run's, and next to the old chart (a marker and a tick per epoch) that froze the browser.

    .venv/bin/python bench/bench_inspect_figures.py [--epochs 1000] [--layers 8] [--repeats 3]

Target: a 1,000-epoch run's chart draws within 3x of a 20-epoch run's. Needs /usr/bin/chromium."""
import argparse
import statistics
import sys
from pathlib import Path

import plotly
import plotly.graph_objects as go

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from viz.inspect import gradient_flow_figure  # noqa: E402

DRAW_JS = """spec => { const f = JSON.parse(spec); const t = performance.now();
  Plotly.newPlot('g', f.data, f.layout); const ms = performance.now() - t;
  const ticks = document.querySelectorAll('.xtick').length; Plotly.purge('g'); return [ms, ticks]; }"""


def history(epochs: int, layers: int) -> list[dict]:
    return [{f"layer{i}": 1.0 / (epoch + 1 + i) for i in range(layers)} for epoch in range(epochs)]


def old_chart(norms: list[dict]) -> go.Figure:
    """The chart before thinning: every epoch a marker and an x tick."""
    figure = go.Figure([go.Scatter(x=list(range(1, len(norms) + 1)), y=[e[node] for e in norms],
                                   mode="lines+markers", name=node) for node in norms[0]])
    figure.update_layout(xaxis={"title": "epoch", "dtick": 1}, yaxis={"type": "log"})
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    long_run = history(args.epochs, args.layers)
    charts = {"20 epochs": gradient_flow_figure(history(20, args.layers)),
              f"{args.epochs} epochs": gradient_flow_figure(long_run),
              f"{args.epochs} epochs, old chart": old_chart(long_run)}
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.set_content("<div id=g style='width:780px;height:450px'></div>")
        page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
        times = {name: [] for name in charts}
        for _ in range(args.repeats):  # interleaved rounds: the load changes under us
            for name, figure in charts.items():
                if name.endswith("old chart") and times[name]:
                    continue  # once is enough: it takes minutes on a loaded machine
                ms, ticks = page.evaluate(DRAW_JS, figure.to_json())
                times[name].append(ms)
                print(f"{name}: {ms:.0f} ms, {ticks} x ticks, {len(figure.to_json()) // 1024} KiB", flush=True)
        browser.close()
    short, long = (statistics.median(times[name]) for name in list(charts)[:2])
    print(f"median: 20 epochs {short:.0f} ms, {args.epochs} epochs {long:.0f} ms, ratio {long / short:.2f} "
          f"(target <= 3); old chart {times[list(charts)[2]][0]:.0f} ms")


if __name__ == "__main__":
    main()
