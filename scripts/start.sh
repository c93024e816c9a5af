#!/usr/bin/env bash
# The README's start command: a venv in .venv/, the runtime dependencies, then the app on :8501.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0" || .venv/bin/python -m pip install -q "torch>=2.4,<3"
.venv/bin/python -m pip install -q -r requirements.txt
# Without --server.address the app listens on this computer alone: a local, single-user start,
# where importing Python code is on (LAYERLOOM_CODE_IMPORT=auto, see the README). A class server
# names its address, as the README shows, and code import is then off.
case " $* " in *--server.address*) ;; *) set -- --server.address localhost "$@" ;; esac
exec .venv/bin/python -m streamlit run app.py "$@"
