#!/bin/sh
# explain/umap/testdata/phantom_embeddings.npz: cmrfm's own study embeddings of a phantom cohort,
# the fifth data set of TestUMAPMatchesUwotAndUmapJS. 300 phantom studies (the cohort of
# docs/finetune-proof.sh: seed 7, matrix 48, 16 frames, the same salt), the phantom-diseases model
# (dcm, hcm) fine-tuned from the pretraining proof's checkpoint (docs/pretrain-proof.sh), and
# cmrfm predict --embeddings over every study. Arrays: embedding float32 [300, 64]
# (study_embedding), label int32 [300] (0 normal, 1 dcm, 2 hcm, 3 infarct, 4 effusion, from the
# phantom's ground truth in store/index.csv).
# Usage: sh testdata/gen/explain/umap/phantom.sh WORKDIR PRETRAINED_CHECKPOINT   (cmrfm on PATH:
#        GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go install ./cmd/cmrfm;
# about an hour on 2 loaded cores, most of it fine-tuning)
set -eu
REPO=$(cd "$(dirname "$0")/../../../.." && pwd)
W=$1
PT=$2
mkdir -p "$W"
cd "$W"
cmrfm phantom --out phantom --studies 300 --seed 7 --matrix 48 --frames 16 --multiframe
printf '1ff830523f6670c8fb410106d446512b3e8b2895502bb7d0ceb2c9df6d8d27fb\n' > store.salt
cmrfm ingest --input phantom/dicom --out store --salt-file store.salt --frames original --channels 1 \
    --labels phantom/labels.csv --reports phantom/reports.jsonl --site ph
GOMAXPROCS=1 cmrfm finetune --preset phantom-diseases --store store --init "$PT" --out dx-pretrained --workers 1
cmrfm predict --checkpoint dx-pretrained/checkpoints/last.safetensors --store store --out preds \
    --clips preds/clips.csv --embeddings preds/emb.npz
/usr/bin/python3 - "$REPO/explain/umap/testdata/phantom_embeddings.npz" <<'PY'
import csv, sys
import numpy as np
emb = np.load("preds/emb.npz")["study_embedding"].astype(np.float32)
keys = [r["filenames"] for r in csv.DictReader(open("preds/dcm/predictions.csv"))]
names = ["normal", "dcm", "hcm", "infarct", "effusion"]
pheno = {}
for r in csv.DictReader(open("store/index.csv")):
    p = [k for k in names[1:] if r[k] == "1"]
    pheno[r["parent_folder"] + "-" + r["accession"]] = names.index(p[0]) if p else 0
lab = np.array([pheno[k] for k in keys], dtype=np.int32)
np.savez(sys.argv[1], embedding=emb, label=lab)
print("wrote", sys.argv[1], emb.shape, np.bincount(lab))
PY
