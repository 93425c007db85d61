#!/usr/bin/env bash
# The training engine's CUDA checks and figures in one go, for a short lease on a GPU machine:
# the CUDA tests, then `train_many` against sequential `train` and the plain DataLoader loop,
# then single-run throughput. Each step has its own time limit, most telling first, so a tight
# lease still brings back the first tables; every log lands in OUT_DIR.
#
#     bash benchmarks/gpu.sh [OUT_DIR]        # default benchmarks/out/gpu
set -u
out=${1:-benchmarks/out/gpu}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD"
py=${PYTHON:-python3}
if ! "$py" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    echo "error: $py finds no CUDA GPU (torch.cuda.is_available() is False): run this on a" \
        "machine with one; the CPU figures come from benchmarks/train_many.py itself" >&2
    exit 2
fi

step() {  # step NAME SECONDS COMMAND...: run COMMAND under a time limit, logged to OUT_DIR/NAME.log
    local name=$1 limit=$2
    shift 2
    echo "== $name (at most ${limit} s): $*"
    timeout "$limit" "$@" 2>&1 | tee "$out/$name.log"
}

step machine 30 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv;
    nproc; $py -c 'import torch; print(torch.__version__, torch.cuda.get_device_name())'"
step test_cuda 60 "$py" -m pytest -q -p no:cacheprovider tests/training/test_cuda.py
step train_many 150 "$py" benchmarks/train_many.py --device cuda --rows 500 5000 \
    --k 1 8 32 128 --mix tune --repeats 2
step train_many_20_epochs 90 "$py" benchmarks/train_many.py --device cuda --rows 500 5000 \
    --k 8 32 128 --mix tune --repeats 1 --epochs 20 --no-plain
step train_many_50k 60 "$py" benchmarks/train_many.py --device cuda --rows 50000 --k 1 8 32 \
    --mix tune --repeats 1 --max-work 2e6
step train_many_space 45 "$py" benchmarks/train_many.py --device cuda --rows 500 --k 64 \
    --mix space --no-plain --repeats 1
step train_throughput 75 "$py" benchmarks/train_throughput.py --device cuda --repeats 2
