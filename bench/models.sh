#!/usr/bin/env bash
# Every model and training benchmark of docs/benchmarks.md ("Models and training steps"), side by side in one run:
# cmrfm (pure-Go GoMLX backend, 2 cores) against PyTorch 1.13 (Debian, OpenBLAS) with 1 and 2 threads, and for the
# MViT-B forward also onnxruntime-node 1.30.0 (CPU) with 2 threads on an ONNX export of the same network.
#
#   bench/models.sh [OUT]        (default $CMRFM_BENCH or /tmp/cmrfm-bench; ~1.2 GB of files)
#   ROUNDS=3 bench/models.sh     (rounds of the whole set; default 2)
#   ONLY=mvit-forward,bert-forward bench/models.sh
#
# Rows: mvit-forward (MViT-B 16x4, 1x3x16x224x224, features), mvit-train-small (forward + backward of MViT-B's 16
# blocks on 2 x 3x8x64x64 clips), bert-forward (BERT-base, 8 x 128 tokens), pretrain-step-tiny (contrastive update,
# batch 16), pretrain-forward-full (MViT-B + BERT-base + loss, batch 2), finetune-step-transfer / -frozen (one study
# of 8 clips, tiny-lvef preset), forward-rss (max RSS of a whole `cmrfm forward` MViT-B run vs a torch script doing
# the same). Prints the table (also OUT/table.md); raw measurements in OUT/results.jsonl (appended: delete it to
# start over). `cmrfm predict` throughput has its own script: bench/predict.sh.
#
# Needs: Go (the toolchain below is fetched by the go command), Debian python3-torch python3-torchvision
# python3-numpy libopenblas0-pthread, node + npm (onnxruntime-node is installed into OUT/ort with --ignore-scripts:
# its CPU binaries are inside the package; the install script would fetch CUDA libraries).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-${CMRFM_BENCH:-/tmp/cmrfm-bench}}"
mkdir -p "$out/bin" "$out/mvit" "$out/ort"
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOPROXY=https://proxy.golang.org
export OUT="$out" ROOT="$root" ORT_PREFIX="$out/ort"

echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo)"
echo "go $(cd "$root" && go env GOVERSION); $(/usr/bin/python3 -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)'); node $(node --version)"
echo "gomlx/compute: $(cd "$root" && go list -m -f '{{.Path}} {{.Version}}' github.com/gomlx/gomlx github.com/gomlx/compute | tr '\n' ' ')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Reference files: perturbed torchvision mvit_v1_b weights, a clip, torch's features (golden) and an ONNX export.
[ -f "$out/mvit/golden.safetensors" ] || OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$root/testdata/gen/model/mvit/full_mvit.py" "$out/mvit" golden
[ -f "$out/mvit/mvit_v1_b_features.onnx" ] || OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$root/testdata/gen/model/mvit/full_mvit.py" "$out/mvit" onnx
if [ ! -f "$out/ort/node_modules/onnxruntime-node/package.json" ]; then
  (cd "$out/ort" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --no-audit --no-fund --ignore-scripts onnxruntime-node@1.30.0 >/dev/null)
fi

# Test binaries and the command, built once so no compilation runs between measurements.
(cd "$root" && for p in model/mvit model/bert train/pretrain train/finetune; do
  go test -c -o "$out/bin/${p//\//_}.test" "./$p"
done && go build -o "$out/bin/cmrfm" ./cmd/cmrfm)

/usr/bin/python3 "$here/models.py"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
