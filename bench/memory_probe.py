"""Where a wide student's memory goes in the server (issue #12): wide students one after another.

    .venv/bin/python -m bench.memory_probe [--students 3]

Starts its own server (agent API on, as the load test's) whose process answers SIGUSR1 with a
memory report, lets a teacher warm it up, then sends `--students` wide students
(bench/load_wide.py: the 5.15 M-parameter Moons model, trained, every Inspect tab, both
exports) one after another, and reports after each: the server's anonymous memory (RssAnon),
the tensors and jobs it holds, what the cyclic collector would free (cyclic garbage: memory
that waits for the collector, since the shipped config turns off Streamlit's gc after each run),
and RssAnon after malloc_trim (what glibc keeps of freed memory). One student at a time, so
the figures are what each student leaves behind, not the overlap of a class (bench/load_test.py).
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENT_API = ("--server.enableAgentApi", "true", "--server.agentWaitTimeout", "60")


def rss_anon_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_tensor_mb(objects) -> float:
    import torch
    storages = {}
    for obj in objects:
        if isinstance(obj, torch.Tensor) and obj.device.type == "cpu":
            storage = obj.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values()) / 2**20


def report(out: str) -> None:
    """Runs in the server (SIGUSR1): one JSON line appended to `out`."""
    from trainers.job import Job
    found = {"rss_anon_mb": rss_anon_mb()}
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    found["cyclic_garbage_tensor_mb"] = cpu_tensor_mb(gc.garbage)
    gc.garbage.clear()
    gc.set_debug(0)
    gc.collect()
    objects = gc.get_objects()
    jobs = [obj for obj in objects if isinstance(obj, Job)]
    found |= {"rss_anon_after_gc_mb": rss_anon_mb(), "tensor_mb": cpu_tensor_mb(objects),
              "jobs": len(jobs), "job_weights_in_memory_mb":
              sum(cpu_tensor_mb((job._weights or {}).values()) for job in jobs)}
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    found["rss_anon_after_trim_mb"] = rss_anon_mb()
    with open(out, "a") as stream:
        stream.write(json.dumps({k: round(v, 1) for k, v in found.items()}) + "\n")


def serve(out: str, streamlit_args: list[str]) -> None:
    """The server's own process: the report on SIGUSR1, then Streamlit as usual."""
    from streamlit.web.cli import main as streamlit_main
    signal.signal(signal.SIGUSR1, lambda *_: report(out))
    sys.argv = ["streamlit", "run", "app.py", *streamlit_args]
    streamlit_main()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=3, choices=range(1, 11), metavar="1..10")
    parser.add_argument("--wide-epochs", type=int, default=2)
    args = parser.parse_args()
    from bench.load_agent import AgentSession
    from bench.load_report import SessionResult
    from bench.load_wide import simulate_wide_student
    from tests.conftest import _free_port

    out = tempfile.mktemp(suffix=".jsonl")
    Path(out).touch()
    port = _free_port()
    options = ["--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.port", str(port), "--server.address", "127.0.0.1", *AGENT_API]
    server = subprocess.Popen(
        [sys.executable, "-c",
         f"from bench.memory_probe import serve; serve({out!r}, {options!r})"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: deque[str] = deque(maxlen=50)
    threading.Thread(target=lambda: output.extend(server.stdout), daemon=True).start()
    url = f"http://127.0.0.1:{port}/"

    def measure(label: str) -> None:
        lines = len(Path(out).read_text().splitlines())
        os.kill(server.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 120
        while len(Path(out).read_text().splitlines()) == lines and time.monotonic() < deadline:
            time.sleep(0.1)
        print(label, Path(out).read_text().splitlines()[-1], flush=True)

    try:
        for _ in range(300):
            try:
                AgentSession(url, SessionResult(-1, "warm-up")).act("warm up", page="train")
                break
            except OSError:
                time.sleep(0.3)
        time.sleep(20)
        measure("warm")
        for student in range(args.students):
            result = SessionResult(student, "wide")
            simulate_wide_student(url, result, args.wide_epochs, time.monotonic() + 300)
            time.sleep(3)
            measure(f"after student {student + 1} ({result.run_status}, {result.error or 'ok'})")
    finally:
        server.terminate()
        server.wait(20)
        os.unlink(out)
        if server.returncode not in (0, -signal.SIGTERM):
            print("".join(output))


if __name__ == "__main__":
    main()
