#!/usr/bin/env bash
# `cmrfm predict` throughput on full-size MViT-B over a phantom store, and the same work in PyTorch 1.13.
#
#   bench/predict.sh [OUT]           (default $CMRFM_BENCH_PREDICT or /tmp/cmrfm-bench-predict)
#   STUDIES=10 PRESET=lvef bench/predict.sh
#
# 1. a phantom cohort (cmrfm phantom, STUDIES studies, seed 11) ingested as a user would (cmrfm ingest: 3 channels,
#    the reference's 360x360 frames, labels and splits joined into index.csv);
# 2. a full-size fine-tuning checkpoint: cmrfm finetune --preset $PRESET (default lvef: MViT-B 16x4 from random
#    weights, encoder frozen) stopped after one update — throughput does not depend on the weights' values;
# 3. cmrfm predict over every study (bags of every long-axis clip and half of the SAX slices: 7-14 clips), timed with
#    /usr/bin/time (load, compile, HDF5 reading, transforms, model; 2 cores);
# 4. bench/predict_torch.py on the same studies and clips (read from predict's --clips table), with 1 and 2 threads,
#    timed the same way; it reports the largest |prediction difference| against cmrfm's table.
# Prints one line per run and a summary table (studies/minute), also OUT/table.md.
# Needs: Go, Debian python3-torch python3-torchvision python3-h5py python3-yaml python3-numpy libopenblas0-pthread.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-${CMRFM_BENCH_PREDICT:-/tmp/cmrfm-bench-predict}}"
studies="${STUDIES:-8}"
preset="${PRESET:-lvef}"
mkdir -p "$out"
export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOPROXY=https://proxy.golang.org
bin="$out/cmrfm"
(cd "$root" && go build -o "$bin" ./cmd/cmrfm)
echo "machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

[ -f "$out/phantom/labels.csv" ] || "$bin" --log-level warn phantom --studies "$studies" --seed 11 --out "$out/phantom" >/dev/null
[ -f "$out/store/index.csv" ] || "$bin" --log-level warn ingest --input "$out/phantom/dicom" --out "$out/store" \
  --labels "$out/phantom/labels.csv" --site bench >/dev/null
ck="$out/run-$preset/checkpoints/last.safetensors"
if [ ! -f "$ck" ]; then
  cat > "$out/finetune.yaml" <<'YAML'
trainer:
  max_updates: 1
  val_studies: 1
  log_every_updates: 1
  checkpoint_every_updates: 1
  progress: false
YAML
  "$bin" --log-level warn finetune --preset "$preset" --config "$out/finetune.yaml" --store "$out/store" \
    --out "$out/run-$preset" >/dev/null
fi

results="$out/results.jsonl"
: > "$results"
timed() { # label, command...: appends {"side", "wall_s", "cpu_s", "max_rss_mb"} to results
  local label="$1"; shift
  /usr/bin/time -o "$out/time.txt" -f '%e %U %S %M' "$@" > "$out/stdout.txt"
  read -r wall user sys rss < "$out/time.txt"
  /usr/bin/python3 - "$label" "$wall" "$user" "$sys" "$rss" "$out/stdout.txt" >> "$results" <<'PY'
import json, sys
label, wall, user, sys_, rss, stdout = sys.argv[1:]
extra = {}
for ln in open(stdout):
    if ln.startswith('{'):
        extra = json.loads(ln)
print(json.dumps(dict(side=label, wall_s=float(wall), cpu_s=float(user) + float(sys_), max_rss_mb=int(rss) / 1024, **extra)))
PY
  tail -1 "$results"
}

timed "cmrfm predict (Go, 2 cores)" "$bin" --log-level warn predict --checkpoint "$ck" --store "$out/store" \
  --out "$out/preds.csv" --clips "$out/clips.csv"
for t in 1 2; do
  OPENBLAS_NUM_THREADS=$t timed "torch $t thread(s)" /usr/bin/python3 "$here/predict_torch.py" "$ck" "$out/store" \
    "$out/clips.csv" "$out/preds.csv" "$t"
done

/usr/bin/python3 - "$results" "$out/clips.csv" <<'PY' | tee "$out/table.md"
import csv, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rows = list(csv.DictReader(open(sys.argv[2])))
studies, clips = len({r['filenames'] for r in rows}), len(rows)
print(f'{studies} studies, {clips} clips ({clips / studies:.1f} per study)\n')
print('| run | wall (whole process) | studies/min | CPU s | max RSS | loop only (torch) | max \\|Δ pred\\| vs cmrfm |')
print('|---|---|---|---|---|---|---|')
for r in recs:
    loop = f"{r['studies_per_min']:.2f} studies/min ({r['loop_s']:.0f} s)" if 'studies_per_min' in r else ''
    d = f"{r['max_abs_pred_diff_vs_cmrfm']:.2g}" if 'max_abs_pred_diff_vs_cmrfm' in r else ''
    print(f"| {r['side']} | {r['wall_s']:.1f} s | {60 * studies / r['wall_s']:.2f} | {r['cpu_s']:.0f} | "
          f"{r['max_rss_mb'] / 1024:.2f} GB | {loop} | {d} |")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
