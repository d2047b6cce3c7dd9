#!/bin/sh
# The phantom proof of docs/retrieval.md, end to end: the pretraining proof's checkpoint and its
# shuffled-pairs control used as a search engine and a zero-shot classifier, side by side with
# supervised heads, on the test split. About 15 minutes on a 2-core CPU (the two fine-tuning runs take
# most of it, 11 min each at a load average of 13; every other step takes seconds). It needs the pretraining proof (docs/pretrain-proof.sh) and
# runs it first when its folder is absent.
# Usage: sh docs/retrieval-proof.sh [WORKDIR] [PRETRAIN_PROOF_DIR]
#   (needs the cmrfm binary on PATH: GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go install ./cmd/cmrfm,
#    and Debian python3-h5py, python3-numpy, python3-scipy for the random-direction check)
set -eu
W=${1:-runs/retrieval-proof}
DOCS=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W"
PT=$(cd "$(dirname "${2:-runs/pretrain-proof}")" && pwd)/$(basename "${2:-runs/pretrain-proof}")
[ -f "$PT/matched/checkpoints/last.safetensors" ] || sh "$DOCS/pretrain-proof.sh" "$PT"
cd "$W"
STORE=$PT/store

# 1. Embeddings of all 2,048 studies and reports with the real checkpoint and with the control.
for r in matched control; do
    cmrfm embed --checkpoint "$PT/$r/checkpoints/last.safetensors" --store "$STORE" --reports "$PT/reports.json" \
        --out $r.h5 --batch 16
done

# 2. Text↔video retrieval among all test studies (and in pools of 32, pretraining's validation metric).
cmrfm evaluate retrieval --index matched.h5 --index control.h5 --split test --plot figures | tee retrieval-test.txt
cmrfm evaluate retrieval --index matched.h5 --index control.h5 --split test --pool 32 | tee retrieval-test-pool32.txt
cmrfm evaluate retrieval --index matched.h5 --index control.h5 --split test --json > retrieval-test.json

# 3. Prompt design on the validation split (never on test): the first prompts (negatives describe a
#    normal heart) and builtin:phantom (negatives name the other diagnoses).
cmrfm zeroshot --index matched.h5 --labels "$STORE/index.csv" --prompts "$DOCS/retrieval/prompts-v1.yaml" --split val --out zs-val-v1/
cmrfm zeroshot --index matched.h5 --labels "$STORE/index.csv" --prompts builtin:phantom --split val --out zs-val/
cmrfm evaluate classification --pred zs-val/ --baseline zs-val-v1/ --direction "<" --out zs-val.csv

# 4. Zero-shot on the test split, the real checkpoint against its control.
for r in matched control; do
    cmrfm zeroshot --index $r.h5 --labels "$STORE/index.csv" --prompts builtin:phantom --split test --out zs-$r/
done
cmrfm evaluate classification --pred zs-matched/ --baseline zs-control/ --direction "<" \
    --pred-name "zero-shot" --baseline-name "zero-shot, shuffled control" --out zs-test.csv --plot figures/zeroshot
# How far from 0.5 random "prompt" directions get on each model's video embeddings.
for r in matched control; do
    /usr/bin/python3 "$DOCS/retrieval/random_directions.py" $r.h5 "$STORE/index.csv" test dcm hcm
done | tee random-directions.txt

# 5. Supervised heads on the same split (cmrfm finetune, phantom-diseases preset) from random weights and
#    from the same pretraining checkpoint. Shortened to fit a 2-core CPU: 15 % of the training patients
#    (196 studies, about docs/finetune.md's cohort) and 12 epochs instead of 30, validation on 64
#    studies.
printf 'data:\n  fraction: 0.15\ntrainer:\n  epochs: 12\n  val_studies: 64\n' > ft.yaml
GOMAXPROCS=1 cmrfm finetune --preset phantom-diseases --config ft.yaml --store "$STORE" --out dx-random --workers 1 &
GOMAXPROCS=1 cmrfm finetune --preset phantom-diseases --config ft.yaml --store "$STORE" \
    --init "$PT/matched/checkpoints/last.safetensors" --out dx-pretrained --workers 1 &
wait
for r in dx-random dx-pretrained; do
    cmrfm predict --checkpoint $r/checkpoints/last.safetensors --store "$STORE" --split test --out $r/test
    # Supervised (dcm, hcm) against zero-shot on the same 311 test studies: paired DeLong tests.
    cmrfm evaluate classification --pred $r/test --baseline zs-matched/ --direction "<" \
        --pred-name "supervised, ${r#dx-} init" --baseline-name "zero-shot (no labels)" \
        --out $r-vs-zeroshot.csv --tests $r-vs-zeroshot-tests.csv --plot figures/$r
done

# 6. Searches, as a user would run them, and the labels of what they find (top 20 over all 2,048 studies).
cmrfm search --index matched.h5 --text "Dilated left ventricle with severely reduced systolic function." --top 5 \
    --reports "$PT/reports.json" | tee search-example.txt
printf '%s\n' "Dilated left ventricle with severely reduced systolic function." "Circumferential pericardial effusion." \
    "Asymmetric septal hypertrophy with increased maximal wall thickness." "Structurally and functionally normal heart." > queries.txt
cmrfm search --index matched.h5 --queries queries.txt --top 20 --json | \
    /usr/bin/python3 "$DOCS/retrieval/label_profile.py" "$STORE/index.csv" | tee search-labels.txt
