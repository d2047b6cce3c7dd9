#!/bin/sh
# The search benchmark of docs/benchmarks.md ("Search"): one top-10 query over 100,000 and 1,000,000
# embeddings of width 512 and 64, for cmrfm's exact int8-scan index (what cmrfm search uses), brute-force
# float32 in Go, and the reference a Python user would write: NumPy (OpenBLAS) E @ q + argpartition.
# All on every CPU; run it on a quiet machine, the three side by side.
# Usage: sh bench/retrieval/search.sh        (needs Debian python3-numpy for the NumPy column)
set -eu
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOPROXY=https://proxy.golang.org
echo "== $(date -u +%FT%TZ) $(uname -m) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) × $(nproc); $(go version)"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test ./retrieval -run XXX -bench 'BenchmarkSearch' -benchtime 40x -timeout 60m | grep -E '^Benchmark|^ok'
echo "== load after Go: $(cut -d' ' -f1-3 /proc/loadavg)"
OPENBLAS_NUM_THREADS=$(nproc) /usr/bin/python3 - <<'PY'
import time, numpy as np
rng = np.random.default_rng(0)
for n in (100_000, 1_000_000):
    for d in (512, 64):
        c = rng.normal(size=(1024, d)).astype(np.float32)
        E = c[rng.integers(0, 1024, n)] + 0.5 * rng.normal(size=(n, d)).astype(np.float32)
        E /= np.linalg.norm(E, axis=1, keepdims=True)
        qs = E[rng.integers(0, n, 64)] + 0.05 * rng.normal(size=(64, d)).astype(np.float32)
        qs /= np.linalg.norm(qs, axis=1, keepdims=True)
        t = []
        c0 = time.process_time()
        for q in qs[:40]:
            t0 = time.perf_counter()
            s = E @ q
            top = np.argpartition(-s, 10)[:10]
            top = top[np.argsort(-s[top])]
            t.append(time.perf_counter() - t0)
        cpu = (time.process_time() - c0) / 40
        print(f"numpy n={n} d={d}: {1000*np.mean(t):.2f} ms/query wall (median {1000*np.median(t):.2f}), "
              f"{1000*cpu:.2f} cpu-ms/query", flush=True)
        del E
PY
echo "== load after NumPy: $(cut -d' ' -f1-3 /proc/loadavg)"
