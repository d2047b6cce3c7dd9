#!/usr/bin/env bash
# Reproduces the leaderboard's load and kill figures of docs/benchmarks.md:
# TestLoad (50 clients, 5,000 page/API requests, 200 submissions, on SQLite
# and PostgreSQL) and TestKillWhileScoring, with the machine's load printed
# beside them. Run it on a quiet machine for the latency bar to be gated.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOPROXY=https://proxy.golang.org CI=true
report=$(mktemp)
echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== go: $(go version)"
CMRFM_LOAD_REPORT=$report go test -count=1 -run 'TestLoad|TestKillWhileScoring' -v ./serve/ 2>&1 | grep -E 'load_test|kill_test|^(--- |ok|FAIL)'
echo "== load figures (JSON lines)"
cat "$report"
rm -f "$report"
