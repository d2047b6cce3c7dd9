#!/usr/bin/python3
"""Golden values for explain/umap from the references umap-learn itself uses (Debian python3-sklearn
1.2.1, python3-scipy 1.10.1, numpy 1.24):

  * find_ab_params: umap-learn's fit of 1/(1 + a x^(2b)) to the min_dist/spread target curve is
    scipy.optimize.curve_fit on 300 points of [0, 3 spread] (re-stated here from the paper's
    definition, not copied);
  * trustworthiness: sklearn.manifold.trustworthiness (Euclidean) of seeded random point sets and
    2-D "embeddings" of them (continuous values, stored as float32-exact numbers in the JSON: no
    distance ties, whose order sklearn leaves to an unstable argsort), k = 5 and 15;
  * k-NN accuracy: leave-one-out majority vote of the k nearest other points in those embeddings
    (sklearn NearestNeighbors; ties to the smallest label, as KNeighborsClassifier's mode).

Writes explain/umap/testdata/golden.json. Run from the repository root:
  /usr/bin/python3 testdata/gen/explain/umap/gen.py
"""
import json
import os

import numpy as np
import scipy
import sklearn
from scipy.optimize import curve_fit
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

OUT = "explain/umap/testdata/golden.json"


def find_ab(spread, min_dist):
    def curve(x, a, b):
        return 1.0 / (1.0 + a * x ** (2 * b))

    xv = np.linspace(0, spread * 3, 300)
    yv = np.zeros(xv.shape)
    yv[xv < min_dist] = 1.0
    yv[xv >= min_dist] = np.exp(-(xv[xv >= min_dist] - min_dist) / spread)
    params, _ = curve_fit(curve, xv, yv)
    return float(params[0]), float(params[1])


def knn_accuracy(y, labels, k):
    nn = NearestNeighbors(n_neighbors=k + 1).fit(y)
    _, idx = nn.kneighbors(y)
    ok = 0
    for i in range(len(y)):
        nb = [j for j in idx[i] if j != i][:k]
        votes = {}
        for j in nb:
            votes[labels[j]] = votes.get(labels[j], 0) + 1
        best = max(votes.values())
        pred = min(l for l, v in votes.items() if v == best)
        ok += pred == labels[i]
    return ok / len(y)


def main():
    g = {"versions": {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__}}
    g["ab"] = []
    for spread, md in [(1.0, 0.1), (1.0, 0.01), (1.0, 0.001), (1.0, 0.5), (1.0, 0.99), (2.0, 0.25)]:
        a, b = find_ab(spread, md)
        g["ab"].append({"spread": spread, "min_dist": md, "a": a, "b": b})
    g["trust"] = []
    rng = np.random.default_rng(7)
    for n, d in [(120, 6), (200, 3)]:
        centres = rng.normal(0, 3, (4, d))
        lab = rng.integers(0, 4, n)
        X = (centres[lab] + rng.normal(0, 1, (n, d))).astype(np.float32).astype(np.float64)
        Y = (X[:, :2] + rng.normal(0, 0.5, (n, 2))).astype(np.float32).astype(np.float64)
        labels = [str(v) for v in lab]
        case = {"x": X.tolist(), "y": Y.tolist(), "labels": labels, "results": []}
        for k in (5, 15):
            case["results"].append({"k": k, "trustworthiness": float(trustworthiness(X, Y, n_neighbors=k)),
                                    "knn_accuracy": knn_accuracy(Y, labels, k)})
        g["trust"].append(case)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(g, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
