#!/usr/bin/python3
"""gen_ranks.py — golden retrieval ranks for stats.PairRanks / RecallAt / MedianRank.

Usage: /usr/bin/python3 testdata/gen/stats/gen_ranks.py stats/testdata/ranks_golden.json

The independent truth is scipy.stats.rankdata(method="max") on the negated similarities
(a candidate tied with the partner is ranked before it: ties count against the model) and
numpy.median. Needs Debian python3-scipy (pulled in by python3-sklearn) and python3-numpy.
Deterministic: re-running leaves the file unchanged.
"""
import json
import sys

import numpy as np
import scipy
from scipy.stats import rankdata


def ranks(sim):
    n = sim.shape[0]
    rows = [int(rankdata(-sim[i, :], method="max")[i]) for i in range(n)]
    cols = [int(rankdata(-sim[:, i], method="max")[i]) for i in range(n)]
    return rows, cols


def case(name, sim, ks=(1, 5, 10)):
    rows, cols = ranks(sim)
    return {
        "name": name,
        "n": int(sim.shape[0]),
        "sim": [float(x) for x in sim.ravel()],
        "rows": rows,
        "cols": cols,
        "ks": list(ks),
        "recall_rows": [float(np.mean(np.array(rows) <= k)) for k in ks],
        "recall_cols": [float(np.mean(np.array(cols) <= k)) for k in ks],
        "median_rows": float(np.median(rows)),
        "median_cols": float(np.median(cols)),
    }


rng = np.random.default_rng(16)
cases = []
# Random similarities rounded to one decimal: many ties, including with the partner.
cases.append(case("rounded-12", np.round(rng.normal(size=(12, 12)), 1)))
# Dot products of unit vectors with a signal on the diagonal (a model that learned something).
v = rng.normal(size=(20, 8)); u = v + 1.5 * rng.normal(size=(20, 8))
v /= np.linalg.norm(v, axis=1, keepdims=True); u /= np.linalg.norm(u, axis=1, keepdims=True)
cases.append(case("learned-20", v @ u.T))
# A constant model: every similarity equal. Every partner ranks last.
cases.append(case("constant-7", np.full((7, 7), 0.25)))
# A collapsed text tower: each row constant (every text the same), rows differ.
cases.append(case("constant-rows-6", np.repeat(rng.normal(size=(6, 1)), 6, axis=1)))
# Integer similarities with three-way ties, even n (median of two middle ranks).
cases.append(case("ints-10", rng.integers(0, 3, size=(10, 10)).astype(float)))
cases.append(case("single", np.array([[0.3]])))

json.dump({"generator": "testdata/gen/stats/gen_ranks.py", "scipy": scipy.__version__, "numpy": np.__version__,
           "cases": cases}, open(sys.argv[1], "w"), indent=None)
print("wrote", sys.argv[1])
