#!/usr/bin/env bash
# The GPU checks in one prepared run (bench/gpu_check.py): PagedEviction at Llama-3.2-1B's shape, the
# encrypted-store scan at 100k and 1M records, MiniLM embedding. One CUDA GPU, offline, under 8 minutes.
# Usage: bench/gpu_check.sh [--smoke] [--out PATH] [--parts kv,scan,embed]
#   --smoke (or GPU_CHECK_SMOKE=1): tiny sizes on the CPU, to check the script itself.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec timeout 470 "$PY" bench/gpu_check.py "$@"
