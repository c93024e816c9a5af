"""Load test: a class of N students on one LayerLoom server (issue #8).

    .venv/bin/python -m bench.load_test [--client agent|browser] [--sessions 20] [--epochs 2]
        [--device NVIDIA]

Starts its own server on 127.0.0.1 (the shipped .streamlit/config.toml, default limits: 2 jobs
at once, process workers), warms it up as a teacher would by opening the Train page, then lets
N students arrive a moment apart. Each opens the app, loads a template from the gallery, goes to
Train, sets a short run, presses Start and, while the run queues and trains, keeps looking at
the live panel and switching Build <-> Train until the run has finished. Every interaction is
timed. Loopback only; bounded by --sessions and --timeout.

Two kinds of student (see each module): `agent` (bench/load_agent.py) drives sessions over
Streamlit's agent API, so the figures are the server's alone; `browser` (bench/load_browser.py)
runs real Chromium pages, which on one machine share the server's cores. Peak memory is the
server's process tree (server, fork server, job processes) summed as PSS, so pages shared after
fork count once; server CPU is the server process itself (script runs; jobs run elsewhere).

Target on a 2-core machine: 20 sessions, all complete, nothing lost, p95 interaction under 2 s.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque

from bench.load_report import TreeMemory, machine_load, process_cpu_s, summarize
from tests.conftest import streamlit_server

# The agent API holds at most 100 sessions per server by default (`too_many_sessions` past it);
# a browser has no such cap, so the bench's own server lifts it for the 200-student class.
AGENT_API = ("--server.enableAgentApi", "true", "--server.agentWaitTimeout", "60",
             "--server.agentMaxSessions", "1000")


def drain(stream, keep: deque) -> None:
    """Read the server's output as it comes, so a full pipe never blocks the server."""
    for line in stream:
        keep.append(line)


def measure_class(client: str, args) -> tuple[dict, list[str]]:
    """Run one class against a fresh server; returns (report, the server's last output lines)."""
    if client == "agent":
        from bench.load_agent import run_class
    else:
        from bench.load_browser import run_class
    output: deque[str] = deque(maxlen=200)
    options = AGENT_API if client == "agent" else ()
    with streamlit_server("app.py", options=options) as (server, url):
        threading.Thread(target=drain, args=(server.stdout, output), daemon=True).start()
        with TreeMemory(server.pid) as memory:
            idle_mb, load_before = memory.now_mb(), machine_load()
            started, cpu_before = time.monotonic(), process_cpu_s({server.pid})
            results = run_class(url, args, memory.mark_baseline)
            wall_s = time.monotonic() - started
            server_cpu_s = process_cpu_s({server.pid}) - cpu_before
        load = {**load_before, "loadavg_after": machine_load()["loadavg_1_5_15"]}
        report = summarize(results, memory.peak_mb, idle_mb, wall_s, load)
    report = {"client": client, "wide_students": getattr(args, "wide", 0), **report,
              "server_own_memory_baseline_mb": round(memory.root_baseline_mb),
              "server_own_memory_growth_mb": round(memory.root_growth_mb),
              "server_cpu_s": round(server_cpu_s, 1)}
    return report, list(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--client", choices=("agent", "browser"), default="agent")
    parser.add_argument("--sessions", type=int, default=20, choices=range(1, 41), metavar="1..40")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each student's run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole class")
    parser.add_argument("--stagger", type=float, default=0.5, help="seconds between arrivals")
    parser.add_argument("--warm-s", type=float, default=10.0,
                        help="seconds between the teacher's first visit and the first student")
    parser.add_argument("--device", default=None,
                        help="agent students pick the first device whose label starts with "
                        "this: CPU, NVIDIA (the first GPU), GPU (auto")
    parser.add_argument("--wide", type=int, default=0, metavar="N",
                        help="agent client: N of the students train the widest accepted model on "
                        "Moons and tour every page with it (bench/load_wide.py, issue #12)")
    parser.add_argument("--wide-epochs", type=int, default=5, help="epochs of a wide student's run")
    args = parser.parse_args()
    report, output = measure_class(args.client, args)
    print(json.dumps(report, indent=2))
    if report["problems"]:
        print("server output (last lines):\n" + "".join(output[-30:]))


if __name__ == "__main__":
    main()
