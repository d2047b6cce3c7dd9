#!/bin/bash
# Regenerates text/testdata/deid/eval.jsonl.gz: 300 phantom CMR reports (cmrfm phantom, seed 11, tiny images —
# only the reports are used) and the MTSamples cardiology/MRI reports of ../shared/data, with identifiers
# planted by make_deid_eval.py (seed 19). Run from the repository root.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOPROXY=https://proxy.golang.org
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./cmd/cmrfm phantom --studies 300 --seed 11 --matrix 32 --frames 8 --out "$tmp/ph" >/dev/null
mkdir -p text/testdata/deid
/usr/bin/python3 testdata/gen/text/deid/make_deid_eval.py "$tmp/ph/reports.jsonl" ../shared/data/mtsamples \
  text/testdata/deid/eval.jsonl.gz 19
/usr/bin/python3 testdata/gen/text/deid/make_deid_eval.py --holdout "$tmp/ph/reports.jsonl" ../shared/data/mtsamples \
  text/testdata/deid/holdout.jsonl.gz 23
for f in eval holdout; do
  /usr/bin/python3 -c "
import gzip, json, collections, sys
c = collections.Counter(); n = 0
for l in gzip.open(sys.argv[1], 'rt'):
    r = json.loads(l); n += 1
    for s in r['spans']: c[s[2]] += 1
print(sys.argv[1], n, 'reports;', dict(sorted(c.items())))" text/testdata/deid/$f.jsonl.gz
done
