"""When a browser tab closes, its runs end and their memory goes back to the system (issue #8).

Seen from outside a real server, as an operator would: the server runs each job in its own
process forked from the warm fork server (the `process` worker, what `auto` picks on a CPU box),
so a job's process appearing and vanishing in /proc is the job starting and ending, and its
exit is its memory freed. The server keeps a closed tab's session for
`server.disconnectedSessionTTL` seconds (a Wi-Fi blip must not kill a class's runs), then stops
its jobs, killing any that outstay `LAYERLOOM_STOP_GRACE_S`.
"""
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import streamlit_server, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSION_TTL_S = 2
STOP_GRACE_S = 3
SLACK_S = 15  # a busy 2-core box delays timers and process exits; the bound stays finite
SERVER_ENV = {"LAYERLOOM_WORKER": "process", "LAYERLOOM_STOP_GRACE_S": str(STOP_GRACE_S),
              "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL_S)}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:  # the process has just exited
        return ""


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the name in parentheses may hold spaces


def descendants(root: int) -> set[int]:
    pids = {int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()}
    parents = {pid: parent_of(pid) for pid in pids}
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def job_processes(server_pid: int) -> set[int]:
    """The server's training jobs: processes the fork server forked (they share its command)."""
    forked = set()
    for pid in descendants(server_pid):
        parent = parent_of(pid)
        if parent and "forkserver" in cmdline(pid) and "forkserver" in cmdline(parent):
            forked.add(pid)
    return forked


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MiB; 0 once it has exited."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:")), 0.0)


def tree_rss_mb(root: int) -> float:
    return sum(rss_mb(pid) for pid in descendants(root) | {root})


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def server():
    with streamlit_server("app.py", env=SERVER_ENV, grace_s=30) as running:
        yield running


def start_long_run(page, url: str) -> None:
    page.set_default_timeout(120_000)  # the first Train page loads torch and a dataset
    page.goto(url + "train")
    wait_for_app(page)
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("500")  # minutes of training: only the closed tab can end it in time
    epochs.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()


def test_closing_the_tab_ends_its_run_and_frees_its_memory(server, browser):
    proc, url = server
    tab = browser.new_context(viewport={"width": 1500, "height": 950})
    start_long_run(tab.new_page(), url)
    [job_pid] = wait_until(lambda: job_processes(proc.pid), 90, "the run's process to start")
    job_mb, server_mb_before = rss_mb(job_pid), tree_rss_mb(proc.pid)

    tab.close()
    closed_at = time.monotonic()
    bound_s = SESSION_TTL_S + STOP_GRACE_S + SLACK_S
    wait_until(lambda: job_pid not in descendants(proc.pid), bound_s,
               "the closed tab's run to end")
    ended_after_s = time.monotonic() - closed_at
    assert ended_after_s >= SESSION_TTL_S * 0.9, "a closed tab keeps its runs for the session TTL"
    assert not job_processes(proc.pid)  # nothing of that session trains on
    # The job's memory went back with its process (the server's own RSS may drift a little).
    assert tree_rss_mb(proc.pid) < server_mb_before - job_mb / 2, (job_mb, server_mb_before)
    with urllib.request.urlopen(url + "_stcore/health", timeout=5) as health:
        assert health.status == 200  # the server itself carries on
