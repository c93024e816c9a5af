"""Which back end executes training jobs, chosen by the environment.

| variable              | default | meaning                                                   |
| --------------------- | ------- | --------------------------------------------------------- |
| LAYERLOOM_JOBS        | local   | `local`: worker processes of this app (nothing to install) |
|                       |         | `ray`: a Ray cluster shared by every app replica           |
| LAYERLOOM_RAY_ADDRESS | auto    | the Ray head (`host:6379`); `auto`: the one on this machine |

Both give a manager with the same API (trainers.job_book.JobBook plus `submit`), so the pages
never know which one runs their jobs. Ray is imported only when chosen (`pip install
"ray>=2.40,<3"`, the `cluster` extra of requirements-cluster.txt).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from trainers.job_book import JobBook
from trainers.limits import Limits, LimitsError

BACKENDS = ("local", "ray")


def backend_from_env(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    backend = (env.get("LAYERLOOM_JOBS") or "local").strip().lower()
    if backend not in BACKENDS:
        raise LimitsError(f"LAYERLOOM_JOBS must be one of {', '.join(BACKENDS)}, got "
                          f"{env.get('LAYERLOOM_JOBS')!r}")
    return backend


def make_job_manager(limits: Limits, env: Mapping[str, str] | None = None) -> JobBook:
    """The server's job manager for the back end the environment names."""
    env = os.environ if env is None else env
    if backend_from_env(env) == "local":
        from trainers.jobs import JobManager
        return JobManager(limits)
    try:
        from trainers.ray_jobs import RayJobManager
    except ImportError as exc:
        raise LimitsError("LAYERLOOM_JOBS=ray needs Ray on this machine: pip install "
                          f"-r requirements-cluster.txt ({exc})") from exc
    address = env.get("LAYERLOOM_RAY_ADDRESS") or None
    try:
        return RayJobManager(limits, address=address)
    except (ConnectionError, RuntimeError) as exc:  # what ray.init raises for an absent head
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LimitsError(f"LAYERLOOM_JOBS=ray: the Ray cluster at {address or 'auto'} cannot be "
                          f"reached ({first_line}). Start its head (deploy/README.md), set "
                          "LAYERLOOM_RAY_ADDRESS to it, or use LAYERLOOM_JOBS=local.") from exc
