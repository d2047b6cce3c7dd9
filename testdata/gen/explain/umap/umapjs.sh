#!/bin/sh
# umap-js as the second oracle of explain/umap: runs npm umap-js@1.4.0 on sklearn's bundled iris,
# wine, breast_cancer and digits (Debian python3-sklearn's files) with three seeds, and writes
# explain/umap/testdata/umapjs.json: per data set and seed, the trustworthiness (k = 15,
# sklearn.manifold.trustworthiness) and the leave-one-out 5-NN label accuracy of its layouts
# (the same definitions as gen.py). Needs node + npm (Debian: apt-get install nodejs npm) once to
# install umap-js under $REF_NODE (default ~/.cache/cmrfm-umapjs); offline after that.
# Run from the repository root: sh testdata/gen/explain/umap/umapjs.sh
set -eu
GEN=$(cd "$(dirname "$0")" && pwd)
REF_NODE=${REF_NODE:-$HOME/.cache/cmrfm-umapjs}
DATA=/usr/lib/python3/dist-packages/sklearn/datasets/data
mkdir -p "$REF_NODE"
[ -f "$REF_NODE/node_modules/umap-js/package.json" ] || (cd "$REF_NODE" && npm install --no-audit --no-fund umap-js@1.4.0 >/dev/null)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
NODE_PATH="$REF_NODE/node_modules" node "$GEN/umapjs.js" "$DATA" "$TMP"
/usr/bin/python3 - "$TMP" <<'PY'
import json, sys, os
import numpy as np
from sklearn.manifold import trustworthiness
sys.path.insert(0, "testdata/gen/explain/umap")
from gen import knn_accuracy
from sklearn.datasets import load_iris, load_wine, load_breast_cancer, load_digits
tmp = sys.argv[1]
out = {"umap_js": "1.4.0", "results": []}
for name, loader in [("iris", load_iris), ("wine", load_wine), ("breast_cancer", load_breast_cancer), ("digits", load_digits)]:
    d = loader()
    labels = [str(v) for v in d.target]
    for seed in (1, 2, 3):
        Y = np.loadtxt(os.path.join(tmp, f"{name}.{seed}.csv"), delimiter=",")
        out["results"].append({"data": name, "seed": seed,
                               "trustworthiness": float(trustworthiness(d.data, Y, n_neighbors=15)),
                               "knn_accuracy": knn_accuracy(Y, labels, 5)})
with open("explain/umap/testdata/umapjs.json", "w") as f:
    json.dump(out, f, indent=1)
print("wrote explain/umap/testdata/umapjs.json")
PY
