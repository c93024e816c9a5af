"""Shared fixtures: a real LayerLoom server and a headless Chromium page for browser tests."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tests that train to a measured bar run on one torch thread, so two xdist workers do not
    fight over two cores; warmed up once per module."""
    import torch

    from trainers.loop import warm_up
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    warm_up()
    yield
    torch.set_num_threads(previous)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(script: str = "app.py", env: dict | None = None, options: tuple = ()):
    """Start `streamlit run script` on a free loopback port; returns (process, base_url).

    `options` are extra command-line settings, e.g. ("--server.enableAgentApi", "true").
    """
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--client.showErrorDetails", "full", *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "_stcore/health", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("streamlit exited at start:\n" + proc.stdout.read()[-3000:])
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not answer its health check in 60 s")


@contextmanager
def streamlit_server(script: str = "app.py", env: dict | None = None, options: tuple = (),
                     grace_s: float = 15.0):
    """A server for the `with` block, as (process, base_url); stopped however the block ends."""
    proc, url = start_streamlit(script, env, options)
    try:
        yield proc, url
    finally:
        stop_streamlit(proc, grace_s)


def stop_streamlit(proc, grace_s: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if the server has not exited within `grace_s`."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="session")
def app_url():
    """A running LayerLoom server (one per test worker)."""
    with streamlit_server("app.py") as (_, url):
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser):
    """A page in a fresh browser context (a new Streamlit session) that collects console errors in
    `page.console_errors`; close it with `page.context.close()`."""
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    return pg


@pytest.fixture
def page(browser):
    """A fresh page (a new Streamlit session) per test."""
    pg = open_page(browser)
    yield pg
    pg.context.close()


def open_nav_page(page, title: str, attempts: int = 3):
    """Click the page's link in the top navigation until the URL shows that page: on a busy
    machine a click that lands while Streamlit redraws the navigation can be dropped."""
    from urllib.parse import urlparse
    wanted = "" if title == "Build" else title.lower()  # Build is the default page, at "/"
    for attempt in range(attempts):
        page.get_by_role("link", name=title).click()
        try:
            page.wait_for_url(lambda url: urlparse(url).path.strip("/").split("/")[-1] == wanted,
                              timeout=15_000)
            return
        except Exception:  # playwright's TimeoutError: click once more
            if attempt == attempts - 1:
                raise


def load_template_on_build(page, name: str) -> None:
    """On the Build page: open the Templates tab and load template `name` from the gallery."""
    page.get_by_role("tab", name="Templates").click()
    page.locator(f".st-key-build-template-{name} button").click()
    wait_for_app(page)


def pick_data_on_train(page, template: str, dataset: str) -> None:
    """From the Build page: load `template`, open Train and pick the dataset whose label
    contains `dataset` (e.g. "Your images")."""
    load_template_on_build(page, template)
    open_nav_page(page, "Train")
    wait_for_app(page)
    page.get_by_label("Dataset", exact=True).click()  # the selectbox opens its list
    page.get_by_role("option", name=re.compile(dataset)).click()
    wait_for_app(page)


def start_on_train(page, epochs: int) -> None:
    """Open the Train page and start a run of `epochs` epochs (thousands: still training for
    minutes, while a test reloads or measures the page)."""
    open_nav_page(page, "Train")
    wait_for_app(page)
    field = page.get_by_role("spinbutton", name="Epochs")
    field.fill(str(epochs))
    field.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()


def wait_for_app(page, timeout_ms: int = 30000):
    """Wait until the Streamlit app has rendered and finished its current run."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_timeout(300)
    deadline = time.time() + timeout_ms / 1000
    while page.locator('[data-testid="stStatusWidget"]').count() and time.time() < deadline:
        page.wait_for_timeout(100)


# --- the Ray job back end (trainers.ray_jobs) ----------------------------------------------------
RAY_TESTS = [pytest.mark.xdist_group("ray"), pytest.mark.ray]  # one worker, one cluster


@pytest.fixture(scope="session")
def ray_cluster():
    """A single-node Ray cluster on 127.0.0.1 for the whole session (2 CPUs, no dashboard);
    yields its address, for other processes to join. Skipped when Ray is not installed."""
    ray = pytest.importorskip("ray", reason="the Ray back end's tests need ray (requirements-dev.txt)")
    from trainers.ray_jobs import NAMESPACE
    # address="local": a cluster of its own, even where `ray start` runs one on this machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, namespace=NAMESPACE,
             logging_level="ERROR",
             log_to_driver=False, _node_ip_address="127.0.0.1",
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
