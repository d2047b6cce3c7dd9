#!/usr/bin/env bash
# gen_proc.sh — regenerate stats/testdata/{proc_golden.json,evaluate_golden.json,evaluate/} with R pROC.
#
# Usage (from anywhere):   testdata/gen/stats/gen_proc.sh
# Needs Debian's r-base-core, r-cran-proc and r-cran-epir (installed with apt-get when missing and run as root).
# The output is deterministic (set.seed); re-running must leave `git diff stats/testdata` empty.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
need=()
for p in r-base-core r-cran-proc r-cran-epir; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  if [[ $(id -u) == 0 ]]; then apt-get install -y "${need[@]}"; else echo "install: ${need[*]}" >&2; exit 1; fi
fi
export TZ=UTC   # silences R's timedatectl warning on machines without systemd
Rscript --vanilla "$here/gen_proc.R" "$repo/stats/testdata"
