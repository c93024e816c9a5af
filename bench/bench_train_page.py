"""The Train page in a real browser: Start -> first plotted point, and what the live page costs.

    .venv/bin/python -m bench.bench_train_page [--trials 3] [--epochs 300]

1. Start -> first point: in a fresh session on the default graph (the digits MLP, CPU), the time
   from the click on "Start training" to the first point drawn on the live loss chart, timed in
   the browser (performance.now(), polled every animation frame). Target: under 1 s.
2. Slowdown: the same run trained with the Train page open (the live chart polling) and with
   the person on the Build page (nothing polling), interleaved open/away/open/away... in one
   server; training time is the run's own wall time ("finished in N s"). Target: under 5%.
   Here the browser shares the server's CPU cores, which overstates the cost: in a classroom
   the chart is drawn on each student's own machine. So the CPU the server process and the
   browser use meanwhile are printed too: the server's share is what a class multiplies.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import time

from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server, wait_for_app
from tests.test_train_browser import LOSS_POINTS_JS

# Click Start, then count plotted points every animation frame until the first one shows.
FIRST_POINT_JS = """async (button) => {
  const points = %s;
  const started = performance.now();
  button.click();
  while (points() <= 0) {
    if (performance.now() - started > 60000) return null;
    await new Promise(requestAnimationFrame);
  }
  return (performance.now() - started) / 1000;
}""" % LOSS_POINTS_JS
FINISHED = re.compile(r"finished in ([\d.,]+) s")


def open_train_page(browser, url: str, epochs: int | None = None):
    """A new session on the Train page (the default graph: the digits MLP)."""
    page = browser.new_context(viewport={"width": 1500, "height": 950}).new_page()
    page.goto(url)
    wait_for_app(page, 120_000)
    page.get_by_role("link", name="Train").click()
    page.get_by_role("button", name="Start training").wait_for(timeout=120_000)
    wait_for_app(page)
    if epochs is not None:
        field = page.get_by_role("spinbutton", name="Epochs")
        field.fill(str(epochs))
        field.press("Enter")
        wait_for_app(page)
    return page


def time_to_first_point(browser, url: str) -> float:
    """Seconds from the click on Start to the first drawn point (a long run, stopped after)."""
    page = open_train_page(browser, url, epochs=200)
    button = page.get_by_role("button", name="Start training").element_handle()
    seconds = page.evaluate(FIRST_POINT_JS, button)
    if seconds is None:
        raise RuntimeError("no point was drawn within 60 s of pressing Start")
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    page.context.close()
    return seconds


def cpu_seconds(pid: int) -> float:
    """CPU time process `pid` itself has used (not its children)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_pids() -> list[int]:
    """This benchmark's Chromium processes (descendants of this process)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            if "chromium" in open(f"/proc/{child}/cmdline", errors="replace").read():
                found.append(child)
    return found


def cpu_now(server_pid: int) -> tuple[float, float]:
    """(server CPU seconds, browser CPU seconds) so far."""
    browser = 0.0
    for pid in browser_pids():
        try:
            browser += cpu_seconds(pid)
        except OSError:  # a renderer that just exited
            pass
    return cpu_seconds(server_pid), browser


def training_seconds(browser, url: str, epochs: int, page_open: bool, expected_s: float,
                     server_pid: int) -> tuple[float, float, float]:
    """One run's own wall time, with the Train page left open or the person away on Build, and
    the shares of a core the server and the browser used meanwhile.

    Away, the person comes back to Train only after `expected_s` to read the result (and leaves
    again if the run is still going), so nothing polls while the run trains."""
    page = open_train_page(browser, url, epochs)
    cpu_before, wall_before = cpu_now(server_pid), time.monotonic()
    page.get_by_role("button", name="Start training").click()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if not page_open:
            page.get_by_role("link", name="Build").click()
            time.sleep(expected_s)
            page.get_by_role("link", name="Train").click()
            wait_for_app(page)
        match = FINISHED.search(page.inner_text("body"))
        if match:
            wall = time.monotonic() - wall_before
            server_cpu, browser_cpu = (now - before for now, before
                                       in zip(cpu_now(server_pid), cpu_before))
            page.context.close()
            return float(match.group(1).replace(",", "")), server_cpu / wall, browser_cpu / wall
        time.sleep(0.5)
    page.screenshot(path="/tmp/bench_train_page-timeout.png", full_page=True)
    raise RuntimeError("the run did not finish within 10 minutes (screenshot in /tmp)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=300)
    args = parser.parse_args()
    with streamlit_server("app.py", grace_s=30) as (server, url):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            time_to_first_point(browser, url)  # warm-up: imports, process pool, dataset cache
            firsts = [time_to_first_point(browser, url) for _ in range(args.trials)]
            print(f"Start -> first point (s): {', '.join(f'{s:.2f}' for s in firsts)}; "
                  f"median {statistics.median(firsts):.2f} (target < 1)", flush=True)
            times, cpu, drawing = ({True: [], False: []} for _ in range(3))
            for _ in range(args.trials):
                for page_open in (True, False):
                    expected = 1.2 * statistics.median(times[True]) if times[True] else 5.0
                    seconds, server_share, browser_share = training_seconds(
                        browser, url, args.epochs, page_open, expected, server.pid)
                    times[page_open].append(seconds)
                    cpu[page_open].append(server_share)
                    drawing[page_open].append(browser_share)
                    print(f"  page {'open' if page_open else 'away'}: run {seconds:.2f} s, "
                          f"server {100 * server_share:.1f}% of a core, "
                          f"browser {100 * browser_share:.1f}%", flush=True)
            opened, away = statistics.median(times[True]), statistics.median(times[False])
            print(f"training {args.epochs} epochs, page open (s): {times[True]}")
            print(f"training {args.epochs} epochs, page away (s): {times[False]}")
            print(f"slowdown with the live page open: {100 * (opened / away - 1):+.1f}% "
                  "(target < 5%)")
            for name, shares in (("server", cpu), ("browser", drawing)):
                print(f"{name} CPU while the run trains: page open "
                      f"{100 * statistics.median(shares[True]):.1f}% of a core, away "
                      f"{100 * statistics.median(shares[False]):.1f}%")
            browser.close()


if __name__ == "__main__":
    main()
