#!/usr/bin/env bash
# Multi-process training with torch DDP (one process per GPU; on a machine
# without GPUs, CPU processes over gloo).
#   bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options...]
# Multi-node and PYTHON: see tools/dist_run.sh.
set -e
exec bash "$(dirname "$0")/dist_run.sh" train.py "$2" "$1" "${@:3}"
