#!/usr/bin/env bash
# Side-by-side speed of the train/val transform chains: cmrfm (go test -bench, one core) then torch (one thread),
# same synthetic 360x360 clip, same session. Usage: bash bench/train/data/bench.sh   (from the repository root)
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd OPENBLAS_NUM_THREADS=1
lscpu | grep 'Model name'; uptime
go test -run XXX -bench Chain -cpu 1 -benchtime 30x -count 3 ./train/data/ | grep Benchmark
/usr/bin/python3 bench/train/data/bench_transforms.py 30
/usr/bin/python3 bench/train/data/bench_transforms.py 30
uptime
