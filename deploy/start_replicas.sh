#!/usr/bin/env bash
# Start N LayerLoom replicas on this machine, all submitting to one Ray cluster (deploy/README.md).
#
#   LAYERLOOM_REPLICA_PORTS="8501 8502" LAYERLOOM_RAY_ADDRESS=10.0.0.5:6379 deploy/start_replicas.sh
#
# Every LAYERLOOM_* variable set here (limits: trainers/limits.py) reaches every replica; the
# job back end defaults to ray. Logs go to $LAYERLOOM_LOG_DIR/replica-<port>.log (default /tmp).
# Stops the replicas it started on Ctrl-C or when one of them exits.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${LAYERLOOM_PYTHON:-.venv/bin/python}"
PORTS="${LAYERLOOM_REPLICA_PORTS:-8501 8502}"
ADDRESS="${LAYERLOOM_REPLICA_ADDRESS:-127.0.0.1}"
LOG_DIR="${LAYERLOOM_LOG_DIR:-/tmp}"
export LAYERLOOM_JOBS="${LAYERLOOM_JOBS:-ray}"
export LAYERLOOM_RAY_ADDRESS="${LAYERLOOM_RAY_ADDRESS:-auto}"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
for port in $PORTS; do
  "$PYTHON" -m streamlit run app.py --server.headless true --server.address "$ADDRESS" \
      --server.port "$port" --browser.gatherUsageStats false \
      >"$LOG_DIR/replica-$port.log" 2>&1 &
  pids+=($!)
  echo "replica on $ADDRESS:$port (pid $!, log $LOG_DIR/replica-$port.log)"
done
wait -n "${pids[@]}"
