# gen_proc.R — golden values for cmrfm's stats package, computed by R pROC.
#
# Run:   testdata/gen/stats/gen_proc.sh        (installs Debian's r-base-core, r-cran-proc, r-cran-epir)
# or:    Rscript --vanilla testdata/gen/stats/gen_proc.R <repo>/stats/testdata
#
# Writes, under the output directory:
#   proc_golden.json      ROC, AUC, DeLong variance/CI, placements, coords, roc.test and Bland–Altman values
#   evaluate/...          small W&B-style prediction tables (classification folder, regression files)
#   evaluate_golden.json  what `cmrfm evaluate` must report for those tables
# Everything is derived from data made here with set.seed(): no third-party data is copied.
# Numbers are written with %.17g so that every double round-trips exactly; NA is null and
# NaN/Inf/-Inf are the strings "NaN", "Inf", "-Inf".
# Tested with R 4.2.2, pROC 1.18.0, epiR 2.0.57 (Debian 12).

suppressPackageStartupMessages({ library(pROC); library(epiR) })
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "stats/testdata"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

# ---------------------------------------------------------------- JSON writer
arr <- function(x) structure(list(v = x), class = "jarray")   # force a JSON array, even for length 1
num1 <- function(x) {
  if (is.na(x) && !is.nan(x)) return("null")
  if (is.nan(x)) return("\"NaN\"")
  if (is.infinite(x)) return(if (x > 0) "\"Inf\"" else "\"-Inf\"")
  sprintf("%.17g", x)
}
str1 <- function(x) paste0("\"", gsub("\"", "\\\\\"", gsub("\\\\", "\\\\\\\\", x)), "\"")
scalar <- function(x) {
  if (is.logical(x)) return(if (is.na(x)) "null" else if (x) "true" else "false")
  if (is.character(x) || is.factor(x)) return(str1(as.character(x)))
  num1(as.numeric(x))
}
j <- function(x, ind = "") {
  nx <- paste0(ind, "  ")
  if (inherits(x, "jarray")) x <- x$v
  else if (is.null(x)) return("null")
  else if (is.atomic(x) && length(x) == 1 && is.null(names(x))) return(scalar(x))
  if (is.atomic(x) && !is.null(names(x))) x <- as.list(x)
  if (is.list(x) && !is.null(names(x)))
    return(paste0("{\n", paste0(nx, str1(names(x)), ": ", vapply(x, j, "", ind = nx), collapse = ",\n"), "\n", ind, "}"))
  if (is.list(x))
    return(paste0("[\n", paste0(nx, vapply(x, j, "", ind = nx), collapse = ",\n"), "\n", ind, "]"))
  paste0("[", paste(vapply(as.list(x), scalar, ""), collapse = ", "), "]")
}

# ------------------------------------------------------------ helpers on pROC
ret_cols <- c("threshold", "sensitivity", "specificity", "accuracy", "ppv", "npv", "tp", "fp", "tn", "fn")
coords_rows <- function(co) lapply(seq_len(nrow(co)), function(i) as.list(co[i, ret_cols]))
# All points of a curve as one array per column (compact); large curves keep threshold, tp, fp only.
coords_cols <- function(co, cols = ret_cols) { x <- lapply(cols, function(k) arr(co[[k]])); names(x) <- cols; x }
# The operating points cmrfm reports (stats.ROC.AtSensitivity / AtSpecificity):
#   sensitivity >= s: highest specificity, then highest sensitivity;
#   specificity >= s: highest sensitivity, then highest specificity.
at_sens <- function(co, s) { ok <- which(co$sensitivity >= s); ok[which.max(co$specificity[ok])] }
at_spec <- function(co, s) {
  ok <- which(co$specificity >= s)
  ok <- ok[co$sensitivity[ok] == max(co$sensitivity[ok])]
  ok[length(ok)]
}
roc_summary <- function(r, placements = TRUE, all_cols = placements) {
  co <- coords(r, "all", ret = ret_cols, transpose = FALSE)
  best <- coords(r, "best", best.method = "youden", ret = ret_cols, transpose = FALSE)
  ci.auc <- function(...) suppressWarnings(pROC::ci.auc(...))   # "AUC == 1" warnings are expected
  var <- function(...) suppressWarnings(pROC::var(...))
  ci95 <- as.numeric(ci.auc(r, method = "delong", conf.level = 0.95))
  ci90 <- as.numeric(ci.auc(r, method = "delong", conf.level = 0.90))
  res <- list(direction = r$direction, auc = as.numeric(auc(r)),
              var = var(r, method = "delong"),
              ci95 = arr(ci95[c(1, 3)]), ci90 = arr(ci90[c(1, 3)]),
              points = coords_cols(co, if (all_cols) ret_cols else c("threshold", "tp", "fp")), youden = coords_rows(best),
              sens90 = as.list(co[at_sens(co, 0.9), ret_cols]),
              spec90 = as.list(co[at_spec(co, 0.9), ret_cols]))
  if (placements) {
    p <- pROC:::delongPlacements(r)
    res$v10 <- arr(p$X); res$v01 <- arr(p$Y)
  }
  res
}
test_summary <- function(tt) {
  if (inherits(tt, "error")) return(list(error = conditionMessage(tt)))   # cmrfm answers NaN here
  list(method = tt$method, statistic = unname(tt$statistic),
       df = if (is.null(tt$parameter)) NULL else unname(tt$parameter),
       p = unname(tt$p.value),
       conf_int = if (is.null(tt$conf.int)) NULL else arr(as.numeric(tt$conf.int)))
}
mkroc <- function(y, s, dir) roc(y, s, levels = c(0, 1), direction = dir, quiet = TRUE)

# ------------------------------------------------------------------ data sets
# Each data set: labels y (0 = control, 1 = case), scores s1 (and s2 for paired
# comparisons on the same subjects), the direction asked of pROC.
set.seed(20240611)
ds <- list()
y <- c(rep(0, 18), rep(1, 22))
s1 <- round(rnorm(40, mean = y * 1.2), 1)                      # rounded: many ties
s2 <- round(0.6 * s1 + rnorm(40, mean = y * 0.5, sd = 0.8), 1)
ds$ties40 <- list(y = y, s1 = s1, s2 = s2, direction = "auto")
y <- rep(c(0, 1), c(30, 25))                                    # controls higher: auto picks ">"
s1 <- round(rnorm(55, mean = -0.9 * y), 2); s2 <- round(rnorm(55, mean = -0.4 * y), 2)
ds$greater_auto <- list(y = y, s1 = s1, s2 = s2, direction = "auto")
ds$less_explicit_low_auc <- list(y = y, s1 = s1, s2 = s2, direction = "<")   # AUC < 0.5 kept
ds$greater_explicit <- list(y = ds$ties40$y, s1 = ds$ties40$s1, s2 = ds$ties40$s2, direction = ">")
ds$all_ties <- list(y = c(0, 0, 0, 1, 1, 1, 1), s1 = rep(0.5, 7), s2 = rep(0.25, 7), direction = "auto")
ds$n2 <- list(y = c(0, 1), s1 = c(0.2, 0.7), s2 = c(0.9, 0.1), direction = "auto")
ds$n3_one_case <- list(y = c(0, 1, 0), s1 = c(0.2, 0.7, 0.4), s2 = c(0.3, 0.6, 0.7), direction = "auto")
ds$small7 <- list(y = c(1, 0, 1, 0, 0, 1, 1), s1 = c(0.8, 0.3, 0.3, 0.5, 0.1, 0.9, 0.5),
                  s2 = c(0.6, 0.6, 0.2, 0.4, 0.3, 0.7, 0.6), direction = "auto")
ds$perfect <- list(y = c(0, 0, 0, 1, 1, 1, 1, 1), s1 = c(0.1, 0.2, 0.3, 0.6, 0.7, 0.7, 0.8, 0.95),
                   s2 = c(0.1, 0.5, 0.3, 0.4, 0.7, 0.8, 0.2, 0.9), direction = "auto")
ds$perfect_greater <- list(y = c(0, 0, 0, 1, 1, 1), s1 = c(9, 8, 7, 3, 2, 1), s2 = c(5, 8, 2, 3, 7, 1), direction = "auto")
ds$youden_tie <- list(y = c(0, 1, 0, 1), s1 = c(1, 2, 3, 4), s2 = c(2, 1, 4, 3), direction = "<")
eps <- .Machine$double.eps
ds$near_ties_less <- list(y = c(0, 0, 1, 1, 0, 1), s1 = c(1, 1 + eps, 1 + eps, 2, 1 - eps / 2, 1),
                          s2 = c(1, 2, 3, 4, 5, 6), direction = "<")
ds$near_ties_greater <- list(y = c(1, 1, 0, 0, 1, 0), s1 = ds$near_ties_less$s1, s2 = c(6, 5, 4, 3, 2, 1), direction = ">")
ds$huge <- list(y = c(0, 0, 1, 1, 0, 1), s1 = c(1e308, 1.5e308, 1.7e308, -1e308, 1e200, 3e200),
                s2 = c(1, 2, 3, 4, 5, 6), direction = "auto")
# A test-set-like case: 1500 studies, 5 % prevalence, probabilities rounded to float32 precision.
n <- 1500; y <- rbinom(n, 1, 0.05)
s1 <- signif(plogis(rnorm(n, -2 + 1.6 * y)), 8); s2 <- signif(plogis(rnorm(n, -2 + 0.9 * y) + 0.3 * qlogis(s1)), 8)
ds$large <- list(y = y, s1 = s1, s2 = s2, direction = "auto")

golden <- list(versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                               pROC = as.character(packageVersion("pROC")),
                               epiR = as.character(packageVersion("epiR"))),
               datasets = list())
for (nm in names(ds)) {
  d <- ds[[nm]]
  r1 <- mkroc(d$y, d$s1, d$direction); r2 <- mkroc(d$y, d$s2, d$direction)
  e <- list(labels = arr(as.integer(d$y)), s1 = arr(d$s1), s2 = arr(d$s2), direction = d$direction,
            roc1 = roc_summary(r1, placements = length(d$y) <= 60), roc2 = roc_summary(r2, placements = FALSE))
  # roc.test on the same subjects: paired (pROC's automatic choice) and forced unpaired.
  try_test <- function(...) tryCatch(suppressWarnings(roc.test(...)), error = function(e) e)
  e$paired <- test_summary(try_test(r1, r2, method = "delong"))
  e$unpaired <- test_summary(try_test(r1, r2, method = "delong", paired = FALSE))
  golden$datasets[[nm]] <- e
}
# Unpaired by pROC's rule: the second label vector differs (one label flipped, like the
# paper's replacement rows), and a second data set of another size.
d <- ds$large; y2 <- d$y; y2[700] <- 1 - y2[700]
ra <- mkroc(d$y, d$s1, "auto"); rb <- mkroc(y2, d$s2, "auto")
rc <- mkroc(ds$ties40$y, ds$ties40$s2, "auto")
golden$unpaired_auto <- list(
  flipped = list(labels2 = arr(as.integer(y2)), roc2 = roc_summary(rb, placements = FALSE),
                 test = test_summary(roc.test(rb, ra, method = "delong"))),
  other_size = list(test = test_summary(roc.test(ra, rc, method = "delong"))))
# Bootstrap CI (stratified, percentile): R's random stream is not reproduced; cmrfm's
# test checks it lands near R's interval for the same data.
set.seed(7)
bci <- as.numeric(ci.auc(ra, method = "bootstrap", boot.n = 2000, boot.stratified = TRUE, progress = "none"))
golden$bootstrap_large_s1 <- list(boot_n = 2000, ci95 = arr(bci[c(1, 3)]))

# ---------------------------------------------------------------- regression
# LVEF-like predictions: pred = truth + noise; the heart-failure AUROC uses label LVEF < 40
# with pROC's automatic direction, as in the paper.
set.seed(11)
n <- 240
truth <- round(pmin(pmax(rnorm(n, 55, 12), 10), 80), 1)
pred_p <- round(truth + rnorm(n, 1, 4), 2)
pred_b <- round(truth + rnorm(n, -0.5, 6.5) + 0.1 * (truth - 55), 2)
# Use exactly the numbers the tables below hold (their decimal strings read back).
truth <- as.numeric(sprintf("%.1f", truth))
pred_p <- as.numeric(sprintf("%.2f", pred_p)); pred_b <- as.numeric(sprintf("%.2f", pred_b))
ba <- function(a, b) {
  d <- a - b; n <- length(d); md <- mean(d); sdd <- sd(d)
  tq <- qt(0.975, n - 1); se_loa <- sqrt(3 * sdd^2 / n)
  e <- epi.ccc(a, b)
  list(n = n, bias = md, sd = sdd, lower = md - 1.96 * sdd, upper = md + 1.96 * sdd,
       bias_ci = arr(md + c(-1, 1) * tq * sdd / sqrt(n)),
       lower_ci = arr(md - 1.96 * sdd + c(-1, 1) * tq * se_loa),
       upper_ci = arr(md + 1.96 * sdd + c(-1, 1) * tq * se_loa),
       epiR_est = e$sblalt$est, epiR_delta_sd = e$sblalt$delta.sd)
}
reg <- function(p, t, cutoff = 40) {
  hf <- roc(as.integer(t < cutoff), p, levels = c(0, 1), direction = "auto", quiet = TRUE)
  ci <- as.numeric(ci.auc(hf, method = "delong"))
  list(mae = mean(abs(p - t)), mse = mean((p - t)^2), rmse = sqrt(mean((p - t)^2)),
       pearson = cor(p, t), bland_altman = ba(p, t),
       hf_direction = hf$direction, hf_cases = length(hf$cases),
       hf_auc = as.numeric(auc(hf)), hf_ci95 = arr(ci[c(1, 3)]), hf = hf)
}
rp <- reg(pred_p, truth); rb <- reg(pred_b, truth)
hf_test <- test_summary(roc.test(rb$hf, rp$hf, method = "delong"))
rp$hf <- NULL; rb$hf <- NULL
golden$regression <- list(truth = arr(truth), pred = arr(pred_p), baseline = arr(pred_b),
                          pretrained = rp, kinetics = rb, hf_test_baseline_minus_pretrained = hf_test)
# Two-sided Student t p-values, 2*pt(-|t|, df), over a grid (the unpaired DeLong p-value).
grid <- expand.grid(t = c(0.1, 1, 2.5, 5, 10, 40), df = c(1, 2.5, 7, 30, 150.3, 1234.5, 2245.1, 50000, 5e5))
golden$pt_grid <- list(t = arr(grid$t), df = arr(grid$df), p = arr(2 * pt(-abs(grid$t), grid$df)))
writeLines(j(golden), file.path(out, "proc_golden.json"))

# ------------------------------------------------------ tables for `cmrfm evaluate`
# A W&B table (docs/reference.md §4.3): values are strings; probabilities as float32 shortest repr.
wandb <- function(cols, df) {
  rows <- vapply(seq_len(nrow(df)), function(i) paste0("[", paste(str1(as.character(unlist(df[i, cols]))), collapse = ", "), "]"), "")
  paste0("{\"_type\": \"table\", \"columns\": [", paste(str1(cols), collapse = ", "), "], \"data\": [",
         paste(rows, collapse = ", "), "], \"ncols\": ", length(cols), ", \"nrows\": ", nrow(df), "}")
}
f32 <- function(x) sprintf("%.8g", x)   # 8 significant digits: float32 precision, read back exactly by R and Go
ev <- file.path(out, "evaluate"); unlink(ev, recursive = TRUE)
eg <- list(classification = list(), regression = list())
set.seed(3)
n <- 300; files <- sprintf("site_%04d.h5", seq_len(n))
targets <- list(Amyloid.like = list(prev = 0.06, sp = 1.5, sb = 0.8),
                lower.is.case = list(prev = 0.2, sp = -1.0, sb = -0.3),   # auto direction ">" for both
                with.replacements = list(prev = 0.12, sp = 1.1, sb = 0.9))
for (tg in names(targets)) {
  p <- targets[[tg]]
  y <- rbinom(n, 1, p$prev)
  pp <- as.numeric(f32(plogis(rnorm(n, -1.5 + p$sp * y))))
  pb <- as.numeric(f32(plogis(rnorm(n, -1.5 + p$sb * y))))
  yb <- y; fb <- files
  if (tg == "with.replacements") {    # baseline rows 40 and 210 replaced by copies of other studies
    for (k in list(c(40, 7), c(210, 123))) { yb[k[1]] <- y[k[2]]; fb[k[1]] <- files[k[2]] }
    yb[40] <- 1 - y[40]  # make sure the label vectors differ
  }
  for (m in c("pretrained", "baseline")) {
    d <- file.path(ev, "classification", m, tg); dir.create(d, recursive = TRUE)
    df <- if (m == "pretrained") data.frame(filenames = files, probs = f32(pp), labels = as.character(y))
          else data.frame(filenames = fb, probs = f32(pb), labels = as.character(yb))
    writeLines(wandb(c("filenames", "probs", "labels"), df), file.path(d, "final_test_output.table.json"))
  }
  rP <- mkroc(y, pp, "auto"); rB <- mkroc(yb, pb, "auto")
  tt <- test_summary(roc.test(rB, rP, method = "delong"))
  sm <- function(r) { s <- roc_summary(r, placements = FALSE); s$points <- NULL; s }
  eg$classification[[tg]] <- list(prevalence = sum(y) / n, pretrained = sm(rP), baseline = sm(rB), test = tt)
}
# Regression tables: the regression data above, as W&B "media_table" exports (columns and data only).
for (m in c("pretrained", "baseline")) {
  d <- file.path(ev, "regression"); dir.create(d, recursive = TRUE, showWarnings = FALSE)
  pr <- if (m == "pretrained") pred_p else pred_b
  df <- data.frame(filenames = sprintf("ukb_%04d.h5", seq_along(truth)), preds = sprintf("%.2f", pr), labels = sprintf("%.1f", truth))
  rows <- vapply(seq_len(nrow(df)), function(i) paste0("[", paste(str1(unlist(df[i, ])), collapse = ", "), "]"), "")
  writeLines(paste0("{\"columns\": [\"filenames\", \"preds\", \"labels\"], \"data\": [", paste(rows, collapse = ", "), "]}"),
             file.path(d, paste0(m, "_final_results.table.json")))
}
# The same pretrained table as CSV, to check both readers give the same numbers.
write.csv(data.frame(filenames = sprintf("ukb_%04d.h5", seq_along(truth)), preds = sprintf("%.2f", pred_p), labels = sprintf("%.1f", truth)),
          file.path(ev, "regression", "pretrained_final_results.csv"), row.names = FALSE)
eg$regression <- list(pretrained = golden$regression$pretrained, baseline = golden$regression$kinetics,
                      hf_test = hf_test)
writeLines(j(eg), file.path(out, "evaluate_golden.json"))
cat("R", paste(R.version$major, R.version$minor, sep = "."), "pROC", as.character(packageVersion("pROC")),
    "epiR", as.character(packageVersion("epiR")), "-> wrote", out, "\n")
