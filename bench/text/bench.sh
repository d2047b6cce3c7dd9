#!/usr/bin/env bash
# Text tokenization benchmark, Go (package text) against HF's Rust tokenizers (npm tokenizers@0.23.2) on the
# same corpus in one run, one core each: every sentence of the MTSamples reports (../shared/data/mtsamples).
# Usage, from the repository root:   bash bench/text/bench.sh
# Needs what gen.sh needs (it installs the npm package the same way).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${SHARED_DATA:-$ROOT/../shared/data}"
export GOTOOLCHAIN=go1.27.3 REF_NODE="${REF_NODE:-/opt/reference}/node-tokenizers"
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT="${GOEXPERIMENT:-simd}" GOFLAGS="${GOFLAGS:--mod=mod}"
[ -f "$REF_NODE/node_modules/tokenizers/package.json" ] || { echo "run testdata/gen/text/gen.sh first (installs npm tokenizers)" >&2; exit 1; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
cd "$ROOT"
go run ./bench/text/corpus "$SHARED/mtsamples" > "$TMP/corpus.txt"
echo "machine: $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(nproc) cores; corpus: $(wc -l < "$TMP/corpus.txt") sentences, $(wc -c < "$TMP/corpus.txt") bytes"
CMRFM_TEXT_BENCH_CORPUS="$TMP/corpus.txt" GOMAXPROCS=1 go test -run '^$' -bench 'Tokenize|Encode' -cpu 1 -benchtime 3s -count 3 ./text/ |
  grep -E '^Benchmark'
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
node "$HERE/bench.js" "$TMP/corpus.txt" "$SHARED/pubmedbert-vocab/vocab.txt" pubmedbert
node "$HERE/bench.js" "$TMP/corpus.txt" "$SHARED/bert-base-uncased-vocab/vocab.txt" bert-base-uncased
