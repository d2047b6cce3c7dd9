#!/bin/sh
# The phantom-cohort learning proof of docs/finetune.md, end to end (about 1.5 hours on a 2-core CPU:
# cohort and store ~2 min, the pretraining proof ~25 min (docs/pretrain-proof.sh, run first if its
# checkpoint is absent), four fine-tuning runs of ≤ 20 min each, two at a time).
# Usage: sh docs/finetune-proof.sh [WORKDIR]   (needs the cmrfm binary on PATH: GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go install ./cmd/cmrfm)
set -eu
W=${1:-runs/finetune-proof}
DOCS=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W"
cd "$W"

# 1. 300 phantom studies (matrix 48, 16 frames per cycle), ingested at their original size, one channel,
#    with the phantom's labels (lvef, dcm, hcm, …) and splits in store/index.csv; reports for pretraining.
#    The de-identification salt is fixed (the value the documented run drew) so the store's study keys, and
#    with them the epoch orders and every number, are those of docs/finetune.md.
cmrfm phantom --out phantom --studies 300 --seed 7 --matrix 48 --frames 16 --multiframe
printf '1ff830523f6670c8fb410106d446512b3e8b2895502bb7d0ceb2c9df6d8d27fb\n' > store.salt
cmrfm ingest --input phantom/dicom --out store --salt-file store.salt --frames original --channels 1 \
    --labels phantom/labels.csv --reports phantom/reports.jsonl --site ph
cmrfm text index --reports store/reports.jsonl --out reports.json --studies store/index.csv

# 2. The pretrained initialisation: the pretraining proof's checkpoint (`cmrfm pretrain --preset phantom` on
#    2,048 other phantom studies and their reports; docs/pretraining.md). Built here if absent.
[ -f ../pretrain-proof/matched/checkpoints/last.safetensors ] || sh "$DOCS/pretrain-proof.sh" ../pretrain-proof
PT=../pretrain-proof/matched/checkpoints/last.safetensors

# 3. Fine-tuning from random weights and from the pretrained encoder (transfer mode), two runs at a time.
GOMAXPROCS=1 cmrfm finetune --preset phantom-lvef --store store --out lvef-random --workers 1 &
GOMAXPROCS=1 cmrfm finetune --preset phantom-lvef --store store --init $PT --out lvef-pretrained --workers 1 &
wait
GOMAXPROCS=1 cmrfm finetune --preset phantom-diseases --store store --out dx-random --workers 1 &
GOMAXPROCS=1 cmrfm finetune --preset phantom-diseases --store store --init $PT --out dx-pretrained --workers 1 &
wait

# 4. Test-split predictions with per-view attention, and the paper's statistics (pretrained vs random).
for r in lvef-random lvef-pretrained; do
    cmrfm predict --checkpoint $r/checkpoints/last.safetensors --store store --split test --out $r/test.csv
done
for r in dx-random dx-pretrained; do
    cmrfm predict --checkpoint $r/checkpoints/last.safetensors --store store --split test --out $r/test
done
cmrfm evaluate regression --pred lvef-pretrained/test.csv --baseline lvef-random/test.csv --out lvef-test.csv
cmrfm evaluate classification --pred dx-pretrained/test --baseline dx-random/test --direction "<" --out dx-test.csv
