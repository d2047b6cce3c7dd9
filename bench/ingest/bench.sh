#!/usr/bin/env bash
# Ingest benchmark, cmrfm and the reference's steps side by side in one run
# (docs/benchmarks.md). Needs Debian python3-pydicom python3-h5py python3-numpy
# and /usr/bin/time. Usage: bench/ingest/bench.sh [STUDIES] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100}
w=${2:-$(mktemp -d)}
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd
go build -o "$w/cmrfm" ./cmd/cmrfm
[ -d "$w/cohort/dicom" ] || "$w/cmrfm" phantom --studies "$n" --out "$w/cohort" --seed 7 >/dev/null
scd=../shared/data/sunnybrook-scd
echo "machine: $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$w/time.txt" "$@" >/dev/null 2>"$w/err.txt" || { cat "$w/err.txt"; exit 1; }
  read -r secs user sys kib < "$w/time.txt"
  echo "$label: wall ${secs}s, CPU $(echo "$user + $sys" | bc)s (user $user, sys $sys), peak RSS $((kib / 1024)) MiB"
}
for data in cohort sunnybrook; do
  if [ $data = cohort ]; then in="$w/cohort/dicom"; k=$n; else in=$scd; k=1; fi
  rm -rf "$w/out" "$w/out.salt" "$w/ref"
  measure "cmrfm ingest --workers 1 ($data, $k studies)" "$w/cmrfm" ingest --input "$in" --out "$w/out" --workers 1
  rm -rf "$w/out" "$w/out.salt"
  measure "cmrfm ingest --workers 2 ($data, $k studies)" "$w/cmrfm" ingest --input "$in" --out "$w/out" --workers 2
  measure "reference steps, python (pydicom + h5py gzip), 1 process ($data)" /usr/bin/python3 bench/ingest/reference_baseline.py "$in" "$w/ref"
done
