"""Load test: a class of N students on one LayerLoom server (issue #8).

    .venv/bin/python -m bench.load_test [--sessions 20] [--epochs 2] [--timeout 600]

Starts its own server on 127.0.0.1 (the shipped .streamlit/config.toml, default limits: 2 jobs
at once, process workers) and one headless Chromium with one browser context per student. Each
student opens the app, loads a template from the gallery, goes to Train, sets a short run,
presses Start and, while the run queues and trains, keeps switching Build <-> Train until the
page shows the run finished. Loopback only; bounded by --sessions and --timeout.

A page interaction is timed from the click to the moment its result is on the page (the loaded
template's notice, the Train page's Start button, the new run's status line): the delay a
student feels, server and browser together. Here the browser shares the server's cores, which
overstates it. Peak memory is the server's process tree (server, fork server, job processes),
summed as PSS so pages shared after fork count once.

Target on a 2-core machine: 20 sessions, all complete, nothing lost, p95 interaction under 2 s.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import async_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, start_streamlit, stop_streamlit

# Light templates that train in seconds on their own datasets; students take them in turn.
TEMPLATES = ("mlp_digits", "mlp_playground", "autoencoder_dense")
FINISHED = re.compile(r"finished in [\d.,]+ s")
ENDED_BADLY = re.compile(r"\b(failed|stopped)\b")
STEP_TIMEOUT_MS = 120_000  # one interaction on a very busy box; beyond that the session failed


@dataclass
class SessionResult:
    index: int
    template: str
    interactions: list[tuple[str, float]] = field(default_factory=list)
    run_status: str = "not started"  # finished | failed | stopped | unfinished | not started
    error: str | None = None

    @property
    def completed(self) -> bool:
        return self.error is None and self.run_status == "finished"


class TreeMemory:
    """Samples the memory of a process and its descendants from /proc; keeps the peak."""

    def __init__(self, root_pid: int, every_s: float = 0.5):
        self.root_pid, self.every_s = root_pid, every_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="tree-memory", daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def now_mb(self) -> float:
        return sum(proportional_mb(pid) for pid in process_tree(self.root_pid))

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_mb = max(self.peak_mb, self.now_mb())


def process_tree(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # the name in parentheses may hold spaces, so split after the last ")"
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # exited while we looked
    tree, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    return tree


def proportional_mb(pid: int) -> float:
    """PSS (RSS where smaps_rollup is unreadable) of one process, in MiB; 0 once it exited."""
    for name, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            lines = Path(name).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


async def timed(result: SessionResult, name: str, action, result_on_page) -> None:
    """Do `action` (a click) and wait until `result_on_page` (a locator) is visible."""
    started = time.perf_counter()
    await action()
    await result_on_page.first.wait_for(state="visible")
    result.interactions.append((name, time.perf_counter() - started))


async def wait_idle(page) -> None:
    """Until Streamlit has finished the current script run (no "Running..." widget)."""
    await page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")


async def simulate_student(browser, url: str, result: SessionResult, epochs: int,
                           deadline: float) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)  # page loads and every wait below
    page = await context.new_page()
    start_button = page.get_by_role("button", name="Start training")
    try:
        await timed(result, "open app", lambda: page.goto(url),
                    page.get_by_role("heading", name="Build"))
        await page.get_by_role("tab", name="Templates").click()
        await timed(result, "load template",
                    page.locator(f".st-key-build-template-{result.template} button").click,
                    page.get_by_text("Loaded the template"))
        await timed(result, "go to Train", nav_link(page, "Train").click, start_button)
        epochs_input = page.get_by_role("spinbutton", name="Epochs")
        await epochs_input.fill(str(epochs))
        await epochs_input.press("Enter")
        await wait_idle(page)
        await timed(result, "start run", start_button.click, run_status_line(page))
        result.run_status = "unfinished"
        await switch_pages_until_run_ends(page, result, deadline)
    except Exception as error:  # one student's failure is a figure of the test, not its end
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        await context.close()


def nav_link(page, title: str):
    return page.get_by_role("link", name=title, exact=True)


def run_status_line(page):
    """The live panel's "Run 1 · adam lr 0.001 · training" line."""
    return page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"Run 1 · .+ · "))


async def switch_pages_until_run_ends(page, result: SessionResult, deadline: float) -> None:
    """Build <-> Train round trips (each timed) while the run queues and trains."""
    status = run_status_line(page)
    while time.monotonic() < deadline:
        text = await status.first.inner_text()
        if FINISHED.search(text):
            result.run_status = "finished"
            return
        if ENDED_BADLY.search(text):
            result.run_status = text
            return
        await page.wait_for_timeout(1000)
        await timed(result, "go to Build", nav_link(page, "Build").click,
                    page.get_by_role("heading", name="Build"))
        await timed(result, "back to Train", nav_link(page, "Train").click, status)


async def warm_up(browser, url: str) -> None:
    """The teacher opens the app before the class: imports, the first dataset, the job workers."""
    context = await browser.new_context()
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = await context.new_page()
    await page.goto(url + "train")
    await page.get_by_role("button", name="Start training").wait_for()
    await context.close()


async def run_class(url: str, args) -> list[SessionResult]:
    results = [SessionResult(i, TEMPLATES[i % len(TEMPLATES)]) for i in range(args.sessions)]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await warm_up(browser, url)
        deadline = time.monotonic() + args.timeout
        tasks = []
        for result in results:  # students arrive a moment apart, as a class does
            tasks.append(asyncio.create_task(
                simulate_student(browser, url, result, args.epochs, deadline)))
            await asyncio.sleep(args.stagger)
        remaining = max(1.0, deadline - time.monotonic())
        await asyncio.wait(tasks, timeout=remaining)
        for task in tasks:
            task.cancel()  # past the deadline: the session counts as unfinished
        await asyncio.gather(*tasks, return_exceptions=True)
        await browser.close()
    return results


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def summarize(results: list[SessionResult], peak_mb: float, idle_mb: float, wall_s: float,
              load: dict) -> dict:
    times = [seconds for result in results for _, seconds in result.interactions]
    by_kind: dict[str, list[float]] = {}
    for result in results:
        for name, seconds in result.interactions:
            by_kind.setdefault(name, []).append(seconds)
    return {
        "sessions": len(results),
        "sessions_completed": sum(result.completed for result in results),
        "runs_finished": sum(result.run_status == "finished" for result in results),
        "interactions": len(times),
        "p50_s": percentile(times, 0.50),
        "p95_s": percentile(times, 0.95),
        "max_s": max(times, default=None),
        "per_kind": {name: {"n": len(values), "p50_s": percentile(values, 0.5),
                            "p95_s": percentile(values, 0.95)} for name, values in by_kind.items()},
        "server_memory_idle_mb": round(idle_mb),
        "server_memory_peak_mb": round(peak_mb),
        "wall_s": round(wall_s, 1),
        "machine": load,
        "problems": [f"session {r.index} ({r.template}): {r.error or r.run_status}"
                     for r in results if not r.completed],
    }


def machine_load() -> dict:
    return {"cpus": os.cpu_count(), "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def drain(stream, keep: deque) -> None:
    """Read the server's output as it comes, so a full pipe never blocks the server."""
    for line in stream:
        keep.append(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, choices=range(1, 41), metavar="1..40")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each student's run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole class")
    parser.add_argument("--stagger", type=float, default=0.5, help="seconds between arrivals")
    args = parser.parse_args()

    server, url = start_streamlit("app.py")
    output: deque[str] = deque(maxlen=200)
    threading.Thread(target=drain, args=(server.stdout, output), daemon=True).start()
    try:
        with TreeMemory(server.pid) as memory:
            idle_mb, load_before = memory.now_mb(), machine_load()
            started = time.monotonic()
            results = asyncio.run(run_class(url, args))
            wall_s = time.monotonic() - started
        load = {**load_before, "loadavg_after": machine_load()["loadavg_1_5_15"]}
        report = summarize(results, memory.peak_mb, idle_mb, wall_s, load)
    finally:
        stop_streamlit(server)
    print(json.dumps(report, indent=2))
    if report["problems"]:
        print("server output (last lines):\n" + "".join(list(output)[-30:]))


if __name__ == "__main__":
    main()
