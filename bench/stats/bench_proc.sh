#!/usr/bin/env bash
# bench_proc.sh — time AUROC + DeLong 95% CI + paired DeLong test on 100,000 cases,
# R pROC and cmrfm (go test -bench) on the same data, in one run.
#
# Usage (from anywhere):   bench/stats/bench_proc.sh
# Needs Debian's r-base-core and r-cran-proc (installed with apt-get when missing and run as root), and Go.
# Prints both timings, the machine, and both sets of results (AUC, CI, Z, p) so they can be compared;
# paste the output into docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
for p in r-base-core r-cran-proc; do
  if ! dpkg -s "$p" >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]]; then apt-get install -y "$p"; else echo "install: $p" >&2; exit 1; fi
  fi
done
export GOTOOLCHAIN=go1.27.3 TZ=UTC GOEXPERIMENT=${GOEXPERIMENT:-simd} GOFLAGS=${GOFLAGS:--mod=mod}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
csv="$work/bench100k.csv"

echo "== machine"
lscpu | grep -E 'Model name|^CPU\(s\)' | sed 's/  */ /g'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
R --version | head -1
Rscript -e 'cat("pROC", as.character(packageVersion("pROC")), "\n")'
go version

echo "== R pROC: roc() x2 (direction auto), ci.auc() x2 (DeLong), roc.test(method = \"delong\") (paired)"
Rscript --vanilla - "$csv" <<'R'
suppressPackageStartupMessages(library(pROC))
csv <- commandArgs(trailingOnly = TRUE)[1]
# 100,000 cases, 30 % prevalence, two correlated scores rounded to 6 decimals (ties, like probabilities).
set.seed(100000)
n <- 100000
y <- as.integer(runif(n) < 0.3)
z <- rnorm(n)
s1 <- round(z + y, 6)
s2 <- round(0.7 * z + 0.7 * rnorm(n) + 0.8 * y, 6)
write.csv(data.frame(y = y, s1 = sprintf("%.6f", s1), s2 = sprintf("%.6f", s2)), csv, row.names = FALSE, quote = FALSE)
d <- read.csv(csv)
once <- function() {
  r1 <- roc(d$y, d$s1, levels = c(0, 1), direction = "auto", quiet = TRUE)
  r2 <- roc(d$y, d$s2, levels = c(0, 1), direction = "auto", quiet = TRUE)
  c1 <- ci.auc(r1, method = "delong"); c2 <- ci.auc(r2, method = "delong")
  tt <- roc.test(r1, r2, method = "delong")
  list(r1 = r1, c1 = c1, tt = tt)
}
invisible(once())  # warm-up
times <- sapply(1:5, function(i) system.time(res <- once())[["elapsed"]])
cat(sprintf("pROC: median %.3f s per run (runs: %s)\n", median(times), paste(sprintf("%.3f", times), collapse = " ")))
res <- once()
cat(sprintf("pROC: AUC1 %.15g [%.15g, %.15g]; paired Z %.15g, p %.15g\n",
            as.numeric(auc(res$r1)), res$c1[1], res$c1[3], res$tt$statistic, res$tt$p.value))
R

echo "== cmrfm (go test -bench BenchmarkDeLong, same CSV for n=100000)"
cd "$repo"
CMRFM_STATS_BENCH_CSV="$csv" go test -run '^$' -bench 'BenchmarkDeLong$' -benchmem -count 5 ./stats
