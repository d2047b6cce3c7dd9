#!/usr/bin/env bash
# Reproduces docs/benchmarks.md "DICOMweb pull vs Orthanc's archive download":
# a local Orthanc (Debian orthanc + orthanc-dicomweb) loaded with STUDIES
# phantom studies at the vendors' own matrix and frame counts; each round
# runs, in turn, cmrfm pull (the series ingest uses), cmrfm pull
# --all-series, and Orthanc's GET /studies/{id}/archive one and four studies
# at a time, all written to disk. Prints studies/min, MB/s and the load.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOPROXY=https://proxy.golang.org
STUDIES=${STUDIES:-8}
ROUNDS=${ROUNDS:-3}
echo "== $(date -u +%FT%TZ) $(nproc) CPUs; load: $(uptime | sed 's/.*load average: //')"
/usr/sbin/Orthanc --version | head -1
dpkg-query -W orthanc orthanc-dicomweb
CMRFM_PULL_BENCH_STUDIES=$STUDIES go test ./pull -run '^$' -bench BenchmarkPullVsArchive \
  -benchtime "${ROUNDS}x" -timeout 120m -v 2>&1 | grep -v 'level=' 
echo "== load after: $(uptime | sed 's/.*load average: //')"
