#!/usr/bin/python3
"""Golden values for label.CohenKappa and label.Proportion (Wilson 95 % CI).

Cohen's kappa comes from scikit-learn's cohen_kappa_score on the label
vectors of each 2x2 table; the Wilson interval from R's
prop.test(x, n, correct = FALSE)$conf.int (the score interval without
continuity correction). Run from the repository root:

    /usr/bin/python3 testdata/gen/label/agree_golden.py > label/testdata/agree_golden.csv

Needs Debian python3-sklearn and r-base-core.
"""
import csv
import random
import subprocess
import sys

import numpy as np
import sklearn
from sklearn.metrics import cohen_kappa_score

random.seed(20240518)
tables = [(5, 0, 0, 5), (10, 2, 3, 85), (0, 0, 0, 12), (1, 0, 0, 0), (0, 3, 4, 0), (7, 7, 7, 7), (40, 1, 0, 459),
          (2, 9, 1, 30), (0, 1, 0, 99), (3, 0, 2, 0)]
for _ in range(10):
    tables.append(tuple(random.randint(0, 60) for _ in range(4)))

def r_wilson(x, n):
    out = subprocess.run(["Rscript", "-e", f"cat(sprintf('%.17g %.17g', prop.test({x}, {n}, correct=FALSE)$conf.int[1], "
                          f"prop.test({x}, {n}, correct=FALSE)$conf.int[2]))"], capture_output=True, text=True, check=True)
    lo, hi = out.stdout.split()
    return lo, hi

w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["tp", "fp", "fn", "tn", "kappa", "sens_lo", "sens_hi", "spec_lo", "spec_hi"])
for tp, fp, fn, tn in tables:
    truth = [1] * (tp + fn) + [0] * (fp + tn)
    pred = [1] * tp + [0] * fn + [1] * fp + [0] * tn
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            k = cohen_kappa_score(truth, pred) if truth else float("nan")
    row = [tp, fp, fn, tn, repr(float(k))]
    for x, n in ((tp, tp + fn), (tn, tn + fp)):
        row += list(r_wilson(x, n)) if n > 0 else ["NA", "NA"]
    w.writerow(row)
print(f"# sklearn {sklearn.__version__}", file=sys.stderr)
