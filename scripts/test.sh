#!/usr/bin/env bash
# The README's test command: a venv in .venv/, the dependencies, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0" || .venv/bin/python -m pip install -q "torch>=2.4,<3"
.venv/bin/python -m pip install -q -r requirements-dev.txt
# loadgroup: the Ray tests share one worker, so the session starts one Ray cluster, not two.
.venv/bin/python -m pytest -n 2 --dist loadgroup -q "$@"
