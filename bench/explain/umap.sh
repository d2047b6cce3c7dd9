#!/bin/sh
# UMAP speed, side by side: cmrfm explain umap against R uwot (Debian r-cran-uwot 0.1.14) on
# 10,000 points × 512 dimensions (ten Gaussian clusters, numpy seed 0: an embedding-like set),
# on the same 2 cores, alternating (cmrfm, uwot 1 SGD thread, uwot 2 SGD threads) REPS times — the
# table of docs/benchmarks.md (medians; the load is printed, the ratio is what compares).
#   cmrfm: the whole command (read .npy, exact 15-NN with the AVX2 kernel on 2 workers, fuzzy set,
#          spectral init, 500 epochs of sequential SGD, write CSV/PNG/SVG/JSON); CPU = the process's
#          user + system seconds.
#   uwot:  umap() alone (R start-up and CSV reading excluded: in uwot's favour), umap-learn's
#          defaults as cmrfm's; Annoy neighbours on 2 threads; SGD on 1 thread (its default,
#          reproducible) or 2 threads (n_sgd_threads = 2, not reproducible); CPU from proc.time().
# Quality of each layout: leave-one-out 5-NN accuracy of the cluster labels (sklearn).
# Usage: sh bench/explain/umap.sh [WORKDIR] [REPS]   (cmrfm on PATH: GOTOOLCHAIN=go1.27.3
#        GOEXPERIMENT=simd go install ./cmd/cmrfm; Debian python3-numpy python3-sklearn r-cran-uwot)
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
W=${1:-$(mktemp -d)}
REPS=${2:-3}
mkdir -p "$W"
exec /usr/bin/python3 - "$W" "$REPS" "$REPO" <<'PY'
import os, resource, statistics, subprocess, sys, time
import numpy as np
from sklearn.neighbors import NearestNeighbors
w, reps, repo = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
n, d, k = 10000, 512, 10
c = rng.normal(0, 1, (k, d)); lab = rng.integers(0, k, n)
X = (c[lab] + rng.normal(0, 0.6, (n, d))).astype(np.float32)
np.save(f"{w}/x.npy", X)
np.savetxt(f"{w}/x.csv", X, delimiter=",", fmt="%.9g")
with open(f"{w}/labels.csv", "w") as f:
    f.write("filenames,cluster\n")
    f.writelines(f"p{i},{l}\n" for i, l in enumerate(lab))

def acc(Y):
    _, idx = NearestNeighbors(n_neighbors=6).fit(Y).kneighbors(Y)
    ok = sum(int(np.argmax(np.bincount(lab[[j for j in idx[i] if j != i][:5]], minlength=k))) == lab[i] for i in range(n))
    return 100 * ok / n

def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

res = {"cmrfm": [], "uwot1": [], "uwot2": []}
loads = []
env = dict(os.environ, GOMAXPROCS="2")
uwot = os.path.join(repo, "testdata/gen/explain/umap/uwot.R")
for rep in range(reps):
    loads.append(os.getloadavg()[0])
    c0, t0 = cpu_children(), time.time()
    subprocess.run(["cmrfm", "explain", "umap", "--embeddings", f"{w}/x.npy", "--labels", f"{w}/labels.csv",
                    "--color-by", "cluster", "--workers", "2", "--log-level", "warn", "--out", f"{w}/cmrfm"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    t1, c1 = time.time(), cpu_children()
    Y = np.loadtxt(f"{w}/cmrfm/umap.csv", delimiter=",", skiprows=1, usecols=(3, 4))
    res["cmrfm"].append((t1 - t0, c1 - c0, acc(Y)))
    for name, sgd in (("uwot1", "0"), ("uwot2", "2")):
        subprocess.run(["Rscript", uwot, "embed", f"{w}/x.csv", f"{w}/{name}", "2", "0", "1", sgd],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        Y = np.loadtxt(f"{w}/{name}.embedding.csv", delimiter=",")
        res[name].append((float(open(f"{w}/{name}.seconds").read()), float(open(f"{w}/{name}.cpu").read()), acc(Y)))
    print(f"rep {rep + 1}: " + "; ".join(f"{k} {v[-1][0]:.1f} s wall, {v[-1][1]:.1f} s CPU" for k, v in res.items()), flush=True)
loads.append(os.getloadavg()[0])
med = lambda xs, i: statistics.median(x[i] for x in xs)
print(f"\nmachine: {os.cpu_count()} cores; 1-min load average during the runs {min(loads):.1f}–{max(loads):.1f}; {reps} alternating repetitions, medians")
print("| implementation | wall time (s) | CPU time (s) | 5-NN accuracy | wall time / cmrfm's |")
print("|---|---|---|---|---|")
base = med(res["cmrfm"], 0)
for name, label in (("cmrfm", "cmrfm explain umap (whole command, 2 workers, reproducible)"),
                    ("uwot1", "uwot umap(): Annoy 2 threads, SGD 1 thread (reproducible)"),
                    ("uwot2", "uwot umap(): Annoy 2 threads, SGD 2 threads (not reproducible)")):
    print(f"| {label} | {med(res[name], 0):.1f} | {med(res[name], 1):.1f} | {med(res[name], 2):.2f} % | {med(res[name], 0) / base:.2f} |")
PY
