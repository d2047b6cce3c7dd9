#!/bin/sh
# Makes demo/weights/phantom-pretrained-video.safetensors, the starting weights of the demo's fine-tuning
# stage: the video tower (mvit-tiny) and projection of the phantom pretraining proof (docs/pretraining.md,
# "Does it learn?"), without its text tower and optimiser state. PHANTOM-ONLY weights: trained on synthetic
# cine of an analytic beating heart, they mean nothing on real patients.
#
# Steps (≈ 12 min on this 2-core box while it ran other jobs; ≈ 3.5 GB of disk while the DICOM exists):
#   1. 2,048 phantom studies (seed 12) ingested with the proof's fixed salt, reports split and tokenised;
#   2. cmrfm pretrain --preset phantom (1,246 updates);
#   3. cmrfm weights extract of /model/video_encoder/ and /model/video_proj/.
# The run is deterministic: on the same cmrfm commit and CPU kind (AVX-512, as the file was made on) the
# output is byte-identical to the committed file; the demo pins its SHA-256 (demo/pretrained.go).
# Usage: sh demo/weights/make.sh [WORKDIR]   (needs the cmrfm binary on PATH:
#        GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go install ./cmd/cmrfm)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
W=${1:-runs/demo-weights}
mkdir -p "$W"
cd "$W"
cmrfm phantom --out phantom --studies 2048 --seed 12 --matrix 48 --frames 16 --multiframe --force
printf '9b9dc235784917a6b2fa32e1c622f54c6086de864d5350df0ab57fd20ba5f3de\n' > store.salt
rm -rf store
cmrfm ingest --input phantom/dicom --out store --salt-file store.salt --frames original --channels 1 \
    --labels phantom/labels.csv --reports phantom/reports.jsonl --site t
rm -rf phantom/dicom
cmrfm text index --reports store/reports.jsonl --out reports.json
rm -rf matched
cmrfm pretrain --preset phantom --store store --reports reports.json --out matched
cmrfm weights extract --arch mvit-tiny --prefix /model/video_encoder/ --prefix /model/video_proj/ \
    matched/checkpoints/last.safetensors phantom-pretrained-video.safetensors
sha256sum phantom-pretrained-video.safetensors "$HERE/phantom-pretrained-video.safetensors"
cmp phantom-pretrained-video.safetensors "$HERE/phantom-pretrained-video.safetensors" && echo "byte-identical to the committed file"
