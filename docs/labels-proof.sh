#!/usr/bin/env bash
# Reproduces every number of docs/labels.md: the phantom rule file on 500
# phantom reports (and the same keywords without negation and section rules),
# and the MTSamples rule file on the hand-labelled MTSamples reports.
# Usage: bash docs/labels-proof.sh [WORKDIR]   (about 2 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOPROXY=https://proxy.golang.org
work=${1:-$(mktemp -d)}
mkdir -p "$work"
go build -o "$work/cmrfm" ./cmd/cmrfm
c="$work/cmrfm"

echo "== phantom: 500 studies, seed 7"
"$c" phantom --out "$work/phantom" --studies 500 --seed 7 --matrix 32 --frames 20 --force --log-level warn >/dev/null
"$c" label rules --reports "$work/phantom/reports.jsonl" --out "$work/phantom-rules.csv"
"$c" label agree --pred "$work/phantom-rules.csv" --truth "$work/phantom/labels.csv"

echo "== phantom: the same keywords without negation, uncertainty, ignore triggers or section rules"
cat > "$work/keywords-only.yaml" <<'YAML'
version: keywords-only
labels:
  - {name: dcm, keywords: ["dilated cardiomyopathy", "dcm", "dcm phenotype"]}
  - {name: hcm, keywords: ["hypertrophic cardiomyopathy", "hcm", "hypertrophic obstructive cardiomyopathy", "hocm"]}
  - {name: infarct, keywords: ["myocardial infarction", "infarction", "infarct", "ischemic cardiomyopathy", "ischaemic cardiomyopathy", "established infarction", "prior infarction"]}
  - {name: effusion, keywords: ["pericardial effusion", "pericardial fluid", "pericardial fluid collection"]}
  - {name: normal, none_of: [dcm, hcm, infarct, effusion]}
YAML
"$c" label rules --rules "$work/keywords-only.yaml" --reports "$work/phantom/reports.jsonl" --out "$work/phantom-keywords.csv"
"$c" label agree --pred "$work/phantom-keywords.csv" --truth "$work/phantom/labels.csv" --show-keys 0

echo "== MTSamples: builtin:mtsamples against label/testdata/mtsamples-hand-labels.csv"
"$c" label rules --rules builtin:mtsamples --reports ../shared/data/mtsamples/mtsamples_cardiac.jsonl \
  --key-column note_id --text-column transcription --out "$work/mtsamples-rules.csv"
"$c" label agree --pred "$work/mtsamples-rules.csv" --truth label/testdata/mtsamples-hand-labels.csv --truth-key note_id \
  --disagreements "$work/mtsamples-disagreements.csv"
for s in imaging pericardium heldout; do
  echo "-- stratum $s"
  awk -F, -v s="$s" 'NR == 1 || $2 == s' label/testdata/mtsamples-hand-labels.csv > "$work/truth-$s.csv"
  "$c" label agree --pred "$work/mtsamples-rules.csv" --truth "$work/truth-$s.csv" --truth-key note_id
done
echo "outputs in $work"
