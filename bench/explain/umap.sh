#!/bin/sh
# UMAP speed, side by side: cmrfm explain umap against R uwot (Debian r-cran-uwot 0.1.14) on
# 10,000 points × 512 dimensions (ten Gaussian clusters, numpy seed 0: an embedding-like set),
# both on the same 2 cores, one after the other in one run — the table of docs/benchmarks.md.
#   cmrfm: the whole command (read .npy, exact 15-NN with the AVX2 kernel on 2 workers, fuzzy set,
#          spectral init, 500 epochs of SGD, write CSV/PNG/SVG/JSON), seeded and reproducible.
#   uwot:  umap() alone (R start-up and CSV reading excluded), umap-learn's defaults as cmrfm's;
#          Annoy neighbours on 2 threads; SGD on 1 thread (uwot's default, reproducible) and on
#          2 threads (n_sgd_threads = 2, not reproducible).
# Quality of each layout: leave-one-out 5-NN accuracy of the cluster labels (sklearn).
# Usage: sh bench/explain/umap.sh [WORKDIR]   (cmrfm on PATH: GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd
#        go install ./cmd/cmrfm; Debian python3-numpy python3-sklearn r-cran-uwot)
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
W=${1:-$(mktemp -d)}
mkdir -p "$W"
/usr/bin/python3 - "$W" <<'PY'
import sys, numpy as np
w = sys.argv[1]
rng = np.random.default_rng(0)
n, d, k = 10000, 512, 10
c = rng.normal(0, 1, (k, d)); lab = rng.integers(0, k, n)
X = (c[lab] + rng.normal(0, 0.6, (n, d))).astype(np.float32)
np.save(f"{w}/x.npy", X)
np.savetxt(f"{w}/x.csv", X, delimiter=",", fmt="%.9g")
with open(f"{w}/labels.csv", "w") as f:
    f.write("filenames,cluster\n")
    for i, l in enumerate(lab):
        f.write(f"p{i},{l}\n")
PY
now() { date +%s.%N; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now)
GOMAXPROCS=2 cmrfm explain umap --embeddings "$W/x.npy" --labels "$W/labels.csv" --color-by cluster --workers 2 --out "$W/cmrfm" >/dev/null
t1=$(now)
Rscript "$REPO/testdata/gen/explain/umap/uwot.R" embed "$W/x.csv" "$W/uwot1" 2 0 1 0
Rscript "$REPO/testdata/gen/explain/umap/uwot.R" embed "$W/x.csv" "$W/uwot2" 2 0 1 2
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$W" "$(echo "$t1 - $t0" | bc)" <<'PY'
import sys, numpy as np
from sklearn.neighbors import NearestNeighbors
w, ours = sys.argv[1], float(sys.argv[2])
lab = np.loadtxt(f"{w}/labels.csv", delimiter=",", skiprows=1, usecols=1, dtype=int)
def acc(Y):
    _, idx = NearestNeighbors(n_neighbors=6).fit(Y).kneighbors(Y)
    ok = 0
    for i in range(len(Y)):
        nb = [j for j in idx[i] if j != i][:5]
        v = np.bincount(lab[nb], minlength=10)
        ok += int(np.argmax(v)) == lab[i]
    return 100 * ok / len(Y)
cm = np.loadtxt(f"{w}/cmrfm/umap.csv", delimiter=",", skiprows=1, usecols=(3, 4))
u1 = np.loadtxt(f"{w}/uwot1.embedding.csv", delimiter=",")
u2 = np.loadtxt(f"{w}/uwot2.embedding.csv", delimiter=",")
s1 = float(open(f"{w}/uwot1.seconds").read()); s2 = float(open(f"{w}/uwot2.seconds").read())
print("| implementation | wall time (s) | 5-NN accuracy |")
print("|---|---|---|")
print(f"| cmrfm explain umap (whole command, 2 workers) | {ours:.1f} | {acc(cm):.2f} % |")
print(f"| uwot umap(), Annoy 2 threads, SGD 1 thread | {s1:.1f} | {acc(u1):.2f} % |")
print(f"| uwot umap(), Annoy 2 threads, SGD 2 threads | {s2:.1f} | {acc(u2):.2f} % |")
PY
