"""Server-wide limits, configured in one place: environment variables with small-box defaults.

A teacher's server is typically a small CPU machine shared by a whole class, so every limit
below has a default that keeps such a box responsive. Each one can be changed with the
environment variable named next to it (documented in the README):

| field             | variable                    | default | meaning                                |
| ----------------- | --------------------------- | ------- | -------------------------------------- |
| max_jobs          | LAYERLOOM_MAX_JOBS          | 2       | training jobs running at once          |
| max_gpu_jobs      | LAYERLOOM_MAX_GPU_JOBS      | 4       | runs at once on each GPU (own slots)   |
| threads_per_job   | LAYERLOOM_THREADS_PER_JOB   | 1       | torch threads per job                  |
| run_memory_mb     | LAYERLOOM_RUN_MEMORY_MB     | 1536    | memory one run may add (process jobs)  |
| max_params        | LAYERLOOM_MAX_PARAMS        | 10M     | parameters per model                   |
| max_activation_mb | LAYERLOOM_MAX_ACTIVATION_MB | 512     | activations of one training batch      |
| eval_memory_mb    | LAYERLOOM_EVAL_MEMORY_MB    | 64      | one evaluation in the server process   |
| max_sample_epochs | LAYERLOOM_MAX_SAMPLE_EPOCHS | 5M      | epochs x dataset size per run          |
| max_upload_mb     | LAYERLOOM_MAX_UPLOAD_MB     | 10      | one uploaded file                      |
| runs_per_session  | LAYERLOOM_RUNS_PER_SESSION  | 8       | runs kept (and active) per session     |
| session_files_mb  | LAYERLOOM_SESSION_FILES_MB  | 100     | one session's saved uploads and data   |
| worker            | LAYERLOOM_WORKER            | auto    | thread, process or auto                |
| stop_grace_s      | LAYERLOOM_STOP_GRACE_S      | 3       | wait for a cooperative stop, then kill |

Why 1 thread per job: on a 2-core box two jobs with 2 torch threads each collapsed to
0.4-0.9k samples/s in total, against 8.5-12.5k with 1 thread each (issue #4);
bench/bench_workers.py measured 0.5k against 28k for two digits-MLP runs in process workers.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from builder.compile import DEFAULT_MAX_ACTIVATION_MB, DEFAULT_MAX_PARAMS

MB = 1024 * 1024  # memory limits: mebibytes
UPLOAD_MB = 1_000_000  # file sizes: megabytes, the unit the browser's uploader counts and shows
WORKER_KINDS = ("auto", "thread", "process")
# Backprop keeps each forward activation and allocates a gradient of the same size.
ACTIVATION_TRAINING_FACTOR = 2


class LimitsError(ValueError):
    """A limit in the environment has a value that cannot be used."""


@dataclass(frozen=True)
class Limits:
    max_jobs: int = 2  # CPU (and MPS) runs; GPU runs have their own slots (trainers.gpu)
    max_gpu_jobs: int = 4
    threads_per_job: int = 1
    run_memory_mb: int = 1536
    max_params: int = DEFAULT_MAX_PARAMS
    max_activation_mb: int = DEFAULT_MAX_ACTIVATION_MB
    eval_memory_mb: int = 64
    max_sample_epochs: int = 5_000_000
    max_upload_mb: int = 10
    runs_per_session: int = 8
    session_files_mb: int = 100
    worker: str = "auto"
    stop_grace_s: float = 3.0

    def __post_init__(self):
        problems = [p for f in fields(self) if (p := _check_field(f.name, getattr(self, f.name)))]
        if problems:
            raise LimitsError("; ".join(problems))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """Read every `LAYERLOOM_<FIELD>` variable that is set; all bad values in one error."""
        env = os.environ if env is None else env
        values, problems = {}, []
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is None or raw.strip() == "":
                continue
            try:
                values[f.name] = _parse(f.name, raw.strip())
            except ValueError:
                problems.append(f"{env_name(f.name)} must be {_EXPECTED[f.name]}, got {raw!r}")
                continue
            if problem := _check_field(f.name, values[f.name]):
                problems.append(problem)
        if problems:
            raise LimitsError("; ".join(problems))
        return cls(**values)

    def check_run(self, report, dataset_size: int, epochs: int, batch_size: int = 1) -> list[str]:
        """Reasons to refuse this run, judged from shape inference before anything is allocated.

        `report` is builder's validation Report (its `total_params` and per-sample
        `total_activation_bytes`). An empty list means the run fits.
        """
        reasons = []
        params = int(report.total_params or 0)
        if params > self.max_params:
            reasons.append(
                f"The model has {params:,} parameters; this server allows at most "
                f"{self.max_params:,} ({env_name('max_params')}). Use fewer or narrower layers.")
        batch_mb = (int(report.total_activation_bytes or 0) * max(1, batch_size)
                    * ACTIVATION_TRAINING_FACTOR / MB)
        if batch_mb > self.max_activation_mb:
            reasons.append(
                f"Training one batch of {batch_size} needs about {batch_mb:,.0f} MB of activations; "
                f"this server allows {self.max_activation_mb:,} MB ({env_name('max_activation_mb')})."
                " Lower the batch size or shrink the layers.")
        sample_epochs = int(dataset_size) * int(epochs)
        if sample_epochs > self.max_sample_epochs:
            reasons.append(
                f"{epochs:,} epochs of {dataset_size:,} samples is {sample_epochs:,} sample-epochs; "
                f"this server allows {self.max_sample_epochs:,} per run "
                f"({env_name('max_sample_epochs')}). Use fewer epochs or a smaller dataset.")
        return reasons

    def epochs_allowed(self, dataset_size: int) -> int | None:
        """The most epochs a run over `dataset_size` samples may have (None: size unknown)."""
        return max(1, self.max_sample_epochs // dataset_size) if dataset_size else None

    def check_session_files(self, kept_bytes: int, new_bytes: int) -> str | None:
        """Why a session that keeps `kept_bytes` of files on the server may not save
        `new_bytes` more, or None when they fit (MB of 10^6 bytes, as uploads are counted)."""
        if kept_bytes + new_bytes > self.session_files_mb * UPLOAD_MB:
            return (f"This session already keeps {kept_bytes / UPLOAD_MB:,.1f} MB of files on the "
                    f"server and this one is {new_bytes / UPLOAD_MB:,.1f} MB more; a session may keep "
                    f"{self.session_files_mb} MB ({env_name('session_files_mb')}), kept until it "
                    "ends. Use a file saved earlier, or ask whoever runs the server to raise it.")
        return None

    def check_upload(self, size_bytes: int) -> str | None:
        """Why an upload of this size is refused, or None when it fits (in megabytes of 10^6
        bytes, as Streamlit's uploader counts: a 9.9 MiB file is 10.4 MB, over a 10 MB limit)."""
        if size_bytes > self.max_upload_mb * UPLOAD_MB:
            return (f"The file is {size_bytes / UPLOAD_MB:,.1f} MB; uploads are limited to "
                    f"{self.max_upload_mb} MB ({env_name('max_upload_mb')}).")
        return None


def env_name(field_name: str) -> str:
    return "LAYERLOOM_" + field_name.upper()


_INT_FIELDS = ("max_jobs", "threads_per_job", "run_memory_mb", "max_params", "max_activation_mb",
               "eval_memory_mb", "max_sample_epochs", "max_upload_mb", "runs_per_session",
               "max_gpu_jobs", "session_files_mb")
_EXPECTED = {name: "a whole number >= 1" for name in _INT_FIELDS} | {
    "worker": "one of " + ", ".join(WORKER_KINDS),
    "stop_grace_s": "a finite number of seconds > 0",
}


def _parse(name: str, raw: str):
    if name == "worker":
        return raw.lower()
    if name == "stop_grace_s":
        return float(raw)
    return int(raw)  # accepts 10_000_000 too


def _check_field(name: str, value) -> str | None:
    """A message when a value is out of range (parsed values and direct construction alike)."""
    if name == "worker":
        ok = value in WORKER_KINDS
    elif name == "stop_grace_s":
        ok = isinstance(value, (int, float)) and math.isfinite(value) and value > 0
    else:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else f"{env_name(name)} must be {_EXPECTED[name]}, got {value!r}"
