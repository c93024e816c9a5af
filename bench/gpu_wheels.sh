#!/usr/bin/env bash
# Wheels a GPU machine's Python lacks (it has torch, numpy, pandas, scikit-learn, safetensors,
# pytest; not pydantic, streamlit or plotly), fetched HERE into .whl/ (git-ignored) for
# bench/gpu_check.sh to install THERE with no network. Same versions as this checkout's venv;
# CPython 3.12 on x86-64 Linux, as the GPU image has (/work/.library/device/KINDS.md).
#   bash bench/gpu_wheels.sh            # then carry .whl to the GPU machine
set -eu -o pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
# pydantic and its parts; plotly; streamlit and what it needs beyond the GPU image's packages.
NAMES="pydantic pydantic_core annotated-types typing-inspection typing_extensions plotly
       streamlit altair jsonschema jsonschema-specifications referencing rpds-py pydeck
       watchdog itsdangerous python-multipart starlette uvicorn websockets"
pins=()
for name in $NAMES; do
  version=$("$PY" -m pip show "$name" 2>/dev/null | awk '/^Version:/ {print $2}')
  [ -n "$version" ] || { echo "$name is not installed in $PY's environment" >&2; exit 1; }
  pins+=("$name==$version")
done
mkdir -p .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d .whl "${pins[@]}"
ls .whl | wc -l | xargs echo "wheels in .whl:"
du -sh .whl
