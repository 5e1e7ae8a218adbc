#!/usr/bin/env bash
# Start NUM_PROCESSES copies of a tool with torch.distributed.run (one per
# GPU; on a machine without GPUs, CPU processes over gloo). What
# tools/dist_train.sh and tools/dist_test.sh call:
#   bash tools/dist_run.sh TOOL NUM_PROCESSES [tool arguments...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, PORT on every node.
# PYTHON defaults to the project's .venv when it exists.
set -e
TOOL=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "$PYTHON" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi

PYTHONPATH="$ROOT":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$ROOT/tools/$TOOL" \
    "${@:3}" \
    --launcher pytorch
