"""Load test beyond one process (issue #17): app replicas behind nginx, jobs on a Ray cluster.

    .venv/bin/python -m bench.load_replicas [--replicas 1,2] [--sessions 20] [--epochs 2]
        [--baseline]

For each replica count, starts on this machine a Ray head (`ray start --head --block`, the
machine's CPUs), that many Streamlit replicas with LAYERLOOM_JOBS=ray, and nginx with the
config of deploy/nginx_conf.py in front of them; then the agent students of bench/load_test.py
(bench/load_agent.py, which keeps the proxy's affinity cookie as a browser does) use the proxy's
address. `--baseline` first measures today's single process with local workers, for reference.
Every replica count keeps the same server-wide limits (LAYERLOOM_MAX_JOBS, default 2 at once).
Memory: the peaks of the replicas' and the Ray head's process trees, added (an upper bound).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.load_agent import AgentSession, run_class
from bench.load_report import SessionResult, TreeMemory, machine_load, summarize
from bench.load_test import AGENT_API, measure_class
from tests.conftest import ROOT, _free_port, start_streamlit, stop_streamlit

sys.path.insert(0, str(ROOT / "deploy"))
from nginx_conf import render, standalone_config  # noqa: E402

RAY = str(Path(sys.executable).with_name("ray"))
# Ray's token authentication (deploy/README.md): the head and every replica share one secret.
RAY_AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


@contextmanager
def ray_head(num_cpus: int):
    """A Ray head on 127.0.0.1 for the `with` block; yields its address."""
    port = _free_port()
    env = {**os.environ, **RAY_AUTH, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", f"--port={port}", f"--num-cpus={num_cpus}",
         "--node-ip-address=127.0.0.1", "--include-dashboard=false", "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        wait_for_port(port, 90, head)
        yield address, head.pid
    finally:
        head.terminate()  # --block: the head stops what it started
        head.wait(60)


def wait_for_port(port: int, timeout_s: float, process) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        time.sleep(0.3)
    raise RuntimeError(f"nothing listens on {port} after {timeout_s} s")


@contextmanager
def replicas_behind_nginx(count: int, ray_address: str):
    """`count` replicas and nginx before them; yields (proxy url, the replicas' pids)."""
    env = {**RAY_AUTH, "LAYERLOOM_JOBS": "ray", "LAYERLOOM_RAY_ADDRESS": ray_address}
    with ExitStack() as stack:
        servers = []
        for _ in range(count):
            proc, url = start_streamlit("app.py", env, AGENT_API)
            stack.callback(stop_streamlit, proc)
            servers.append((proc, url))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="layerloom-nginx-")))
        port = _free_port()
        site = render({"LAYERLOOM_REPLICAS": ",".join(url.split("//")[1].rstrip("/")
                                                      for _, url in servers),
                       "LAYERLOOM_PROXY_LISTEN": f"127.0.0.1:{port}"})
        nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c",
                                  str(standalone_config(folder, site))])
        stack.callback(nginx.wait, 10)
        stack.callback(nginx.terminate)
        wait_for_port(port, 20, nginx)
        for _, url in servers:  # the teacher's first visit, on every replica: Ray joined
            AgentSession(url, SessionResult(-1, "warm-up")).act("warm up", page="train")
        yield f"http://127.0.0.1:{port}/", [proc.pid for proc, _ in servers]


def measure_replicas(count: int, args) -> dict:
    with ray_head(os.cpu_count() or 2) as (address, head_pid):
        with replicas_behind_nginx(count, address) as (url, pids):
            roots = [*pids, head_pid]
            with ExitStack() as memories:
                trees = [memories.enter_context(TreeMemory(pid)) for pid in roots]
                idle_mb, load_before = sum(t.now_mb() for t in trees), machine_load()
                started = time.monotonic()
                results = run_class(url, args)
                wall_s = time.monotonic() - started
            load = {**load_before, "loadavg_after": machine_load()["loadavg_1_5_15"]}
            report = summarize(results, sum(t.peak_mb for t in trees), idle_mb, wall_s, load)
    return {"replicas": count, "jobs": "ray", **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2", help="replica counts to measure in turn")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--stagger", type=float, default=0.5)
    parser.add_argument("--warm-s", type=float, default=10.0)
    parser.add_argument("--train-every", type=int, default=1, metavar="K",
                        help="every K-th student trains; the others only browse (a larger, "
                        "lighter class)")
    parser.add_argument("--baseline", action="store_true",
                        help="first, one process with local workers (bench/load_test.py)")
    args = parser.parse_args()
    args.device, args.wide = None, 0
    reports = []
    if args.baseline:
        report, _ = measure_class("agent", args)
        reports.append({"replicas": 1, "jobs": "local", **report})
        print(json.dumps(reports[-1]), flush=True)
    for count in (int(c) for c in args.replicas.split(",")):
        reports.append(measure_replicas(count, args))
        print(json.dumps(reports[-1]), flush=True)
    keys = ("replicas", "jobs", "sessions_completed", "runs_finished", "interactions", "p50_s",
            "p95_s", "max_s", "wall_s", "server_memory_peak_mb")
    for report in reports:
        throughput = {"interactions_per_s": round(report["interactions"] / report["wall_s"], 2),
                      "runs_per_min": round(60 * report["runs_finished"] / report["wall_s"], 1)}
        print({key: report[key] for key in keys}, throughput, report["machine"],
              report["problems"][:3])


if __name__ == "__main__":
    main()
