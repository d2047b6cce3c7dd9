#!/usr/bin/env bash
# Full-size interop check of cmrfm's MViT-B 16x4 against torchvision's mvit_v1_b (not run by `go test`).
#   testdata/gen/model/mvit/interop.sh [OUTDIR]     (default $CMRFM_MVIT_FULL or /tmp/cmrfm-mvit-full; ~0.9 GB of files)
# 1. full_mvit.py golden: perturbed mvit_v1_b weights, a random 1x3x16x224x224 clip, torch features + 16 attention maps;
# 2. `cmrfm forward --arch mvit-b-16x4-torchvision` on the torchvision weights, with --attention-out;
# 3. compares features and every attention map (max |diff|), prints a JSON summary and fails above 1e-4.
# Needs: apt python3-torch python3-torchvision python3-numpy libopenblas0-pthread; Go with GOEXPERIMENT=simd.
# The same files also drive `go test -tags interop ./model/mvit/` (TestFullSizeMatchesTorchvision).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
out="${1:-${CMRFM_MVIT_FULL:-/tmp/cmrfm-mvit-full}}"
mkdir -p "$out"
export GOTOOLCHAIN=go1.27.3 OPENBLAS_NUM_THREADS=1 GOEXPERIMENT=simd
[ -f "$out/golden.safetensors" ] || /usr/bin/python3 "$here/full_mvit.py" "$out" golden
(cd "$root" && go build -o "$out/cmrfm" ./cmd/cmrfm)
rm -rf "$out/go_attn"
/usr/bin/time -f '%e s wall, %M KB max RSS' "$out/cmrfm" forward --arch mvit-b-16x4-torchvision \
  --weights "$out/mvit_v1_b.safetensors" --input "$out/input.npy" --output "$out/go_features.npy" \
  --attention-out "$out/go_attn" --attention-format npy 2> >(tee "$out/go_forward.log" >&2)
/usr/bin/python3 - "$out" "$here" <<'PY'
import json, sys
import numpy as np
out, here = sys.argv[1], sys.argv[2]
sys.path.insert(0, here)
sys.path.insert(0, here + '/../..')
import st_io
g, _ = st_io.load(f'{out}/golden.safetensors')
res = {'features': float(np.abs(np.load(f'{out}/go_features.npy') - g['features']).max())}
for i in range(16):
    a = np.load(f'{out}/go_attn/clip_0000/layer_{i:02d}.npy')
    res[f'attn.block{i:02d}'] = float(np.abs(a - g[f'attn.block{i:02d}'][0]).max())
worst = max(res.values())
summary = {'max_abs_diff': res, 'worst': worst, 'pass_1e-4': worst <= 1e-4}
json.dump(summary, open(f'{out}/interop.json', 'w'), indent=1)
print(json.dumps(summary))
sys.exit(0 if worst <= 1e-4 else 1)
PY
