#!/usr/bin/env bash
# Multi-process evaluation with torch DDP.
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options...]
# Multi-node and PYTHON: see tools/dist_run.sh.
set -e
exec bash "$(dirname "$0")/dist_run.sh" test.py "$3" "$1" "$2" "${@:4}"
