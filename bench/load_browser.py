"""Students in real browsers: one headless Chromium, one browser context per student.

A page interaction is timed from the click to the moment its result is on the page (the loaded
template's notice, the Train page's Start button, the new run's status line): the delay a
student feels, server and browser together. On one machine the browsers share the server's
cores, which overstates it.
"""
from __future__ import annotations

import asyncio
import re
import time

from playwright.async_api import async_playwright

from bench.load_report import ENDED_BADLY, FINISHED, TEMPLATES, SessionResult
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

STEP_TIMEOUT_MS = 120_000  # one interaction on a very busy box; beyond that the session failed


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


async def warm_up(browser, url: str, warm_s: float) -> None:
    """The teacher opens the app before the class: imports, the first dataset, the job workers."""
    context = await browser.new_context()
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = await context.new_page()
    await page.goto(url + "train")
    await page.get_by_role("button", name="Start training").wait_for()
    await context.close()
    await asyncio.sleep(warm_s)


async def _run_class(url: str, args, class_starts) -> list[SessionResult]:
    results = [SessionResult(i, TEMPLATES[i % len(TEMPLATES)]) for i in range(args.sessions)]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await warm_up(browser, url, args.warm_s)
        class_starts()
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


def run_class(url: str, args, class_starts=lambda: None) -> list[SessionResult]:
    """`class_starts()` is called once the teacher's warm-up is over, as the first student comes."""
    return asyncio.run(_run_class(url, args, class_starts))
