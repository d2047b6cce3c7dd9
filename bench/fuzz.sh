#!/bin/bash
# The fuzz campaign of docs/reliability.md: every reader's fuzz target, one after another, for FUZZTIME each
# (default 10m), niced, one fuzzing worker (-parallel 1; the figures in docs/reliability.md were measured so on a
# shared 2-core box — more workers give more executions). Writes one log per target under $OUT (default
# /tmp/cmrfm-fuzz) and prints a Markdown table: target, time, executions, new interesting inputs, result.
# A crash leaves its input under <package>/testdata/fuzz/<Target>/ (commit it: plain `go test` replays it).
# Usage: bash bench/fuzz.sh [Target ...]   (from the repository root)
set -uo pipefail
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOPROXY=https://proxy.golang.org
FUZZTIME=${FUZZTIME:-10m}
OUT=${OUT:-/tmp/cmrfm-fuzz}
mkdir -p "$OUT"
targets=(
  ./internal/hdf5:FuzzRead
  ./cine:FuzzReadNIfTI
  ./ingest:FuzzExtractArchive
  ./model/weights:FuzzSafetensors
  ./model/weights:FuzzTorch
  ./model/weights:FuzzNPZ
  ./internal/yamlconf:FuzzConfigs
  ./store:FuzzReadIndex
  ./ingest:FuzzReadTable
  ./text:FuzzBuildIndex
  ./stats/evaluate:FuzzReadTable
  ./dicom:FuzzParseDecode
  ./text:FuzzDeidentify
)
if [ $# -gt 0 ]; then
  sel=()
  for t in "${targets[@]}"; do for want in "$@"; do [[ $t == *":$want" ]] && sel+=("$t"); done; done
  targets=("${sel[@]}")
fi
echo "| package | target | time | executions | new interesting | result |"
echo "|---|---|---:|---:|---:|---|"
for t in "${targets[@]}"; do
  pkg=${t%%:*} name=${t##*:}
  log="$OUT/$(tr / _ <<<"${pkg#./}")_$name.log"
  nice -n 15 go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -timeout 0 -parallel 1 >"$log" 2>&1
  rc=$?
  last=$(grep -E '^fuzz: elapsed' "$log" | tail -1)
  execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
  newi=$(sed -E 's/.*new interesting: ([0-9]+).*/\1/' <<<"$last")
  el=$(sed -E 's/^fuzz: elapsed: ([^,]+),.*/\1/' <<<"$last")
  res=PASS
  [ $rc -ne 0 ] && res="FAIL (see $log)"
  echo "| ${pkg#./} | $name | $el | $execs | $newi | $res |"
done
