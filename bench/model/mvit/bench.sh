#!/usr/bin/env bash
# Side-by-side speed of cmrfm's MViT-B 16x4 (pure-Go GoMLX backend) and PyTorch 1.13 (Debian, OpenBLAS, 1 thread),
# run back to back in one session. Results go to docs/benchmarks.md by hand.
#   bench/model/mvit/bench.sh [OUTDIR]      (default $CMRFM_MVIT_FULL or /tmp/cmrfm-mvit-full)
# Prints: machine, load average before/after, torch forward (median of 3), Go forward benchmark (3 runs),
# torch and Go training step on the small config (MViT-B blocks, 2 x 3x8x64x64), and peak RSS of a full forward
# (`cmrfm forward` vs a torch script), each measured with /usr/bin/time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-${CMRFM_MVIT_FULL:-/tmp/cmrfm-mvit-full}}"
mkdir -p "$out"
export GOTOOLCHAIN=go1.27.3 OPENBLAS_NUM_THREADS=1 GOEXPERIMENT=simd
echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores; go $(go env GOVERSION)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$out/golden.safetensors" ] || /usr/bin/python3 "$root/testdata/gen/model/mvit/full_mvit.py" "$out" golden
echo "--- torch forward 1x3x16x224x224 (1 thread)"
/usr/bin/python3 "$root/testdata/gen/model/mvit/full_mvit.py" "$out" time
echo "--- cmrfm forward (go test -bench, 3 runs after a warm-up)"
(cd "$root" && go test -run XXX -bench 'ForwardMViTB16x4$' -benchtime 3x ./model/mvit/ | grep Benchmark)
echo "--- torch training step, small config (1 thread)"
/usr/bin/python3 "$root/testdata/gen/model/mvit/full_mvit.py" "$out" train
echo "--- cmrfm training step, small config"
(cd "$root" && go test -run XXX -bench 'TrainStepSmall$' -benchtime 3x ./model/mvit/ | grep Benchmark)
echo "--- peak memory of one full forward (features only)"
(cd "$root" && go build -o "$out/cmrfm" ./cmd/cmrfm)
/usr/bin/time -f 'cmrfm forward: %e s wall (incl. loading and compiling), %M KB max RSS' "$out/cmrfm" --log-level warn forward \
  --arch mvit-b-16x4-torchvision --weights "$out/mvit_v1_b.safetensors" --input "$out/input.npy" --output "$out/go_features.npy" >/dev/null
/usr/bin/time -f 'torch forward: %e s wall (incl. import and model build), %M KB max RSS' /usr/bin/python3 -c "
import torch, numpy as np, torchvision.models.video as tvv
torch.set_num_threads(1)
m = tvv.mvit_v1_b().eval()
with torch.inference_mode(): m(torch.from_numpy(np.load('$out/input.npy')))"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
