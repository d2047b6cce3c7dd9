# R uwot as the oracle of explain/umap (Debian r-cran-uwot 0.1.14; run by the Go tests and by
# bench/explain/umap.sh, never edited by them).
#
# Usage: Rscript uwot.R MODE in.csv out_prefix [threads] [epochs] [seeds] [sgd_threads]
#        (seeds: "1" or "1,2,3"; epochs 0: the default; sgd_threads default 0)
#   in.csv: one point per line, comma-separated features, no header.
#   MODE graph:  out_prefix.graph.csv  "i,j,w" (1-based) of similarity_graph(): the fuzzy
#                simplicial set of the exact (FNN) 15-nearest-neighbour graph, umap-learn's
#                smooth_knn_dist and probabilistic t-conorm union.
#   MODE spectral: out_prefix.graph.csv as graph, and out_prefix.embedding.csv, uwot's spectral
#                initialisation of that graph (the 2 eigenvectors of the normalised Laplacian after the
#                trivial one, scaled to a maximum of 10 with N(0, 1e-4) jitter).
#   MODE embed:  out_prefix.embedding.csv, the 2-D UMAP with umap-learn's defaults (what the
#                paper's authors ran): n_neighbors 15, min_dist 0.1, spread 1, spectral init,
#                learning rate 1, 5 negative samples, epochs 500 (<= 10,000 points) or 200;
#                nearest neighbours exact (FNN) below 4,096 points, Annoy above (uwot's
#                default); SGD single-threaded (uwot's default, reproducible).
#                out_prefix.seconds: wall time of umap() alone.
suppressMessages(library(uwot))
args <- commandArgs(trailingOnly = TRUE)
mode <- args[1]
X <- as.matrix(read.csv(args[2], header = FALSE))
prefix <- args[3]
threads <- if (length(args) >= 4) as.integer(args[4]) else 1L
n <- nrow(X)
epochs <- if (length(args) >= 5 && args[5] != "0") as.integer(args[5]) else if (n <= 10000) 500L else 200L
seeds <- if (length(args) >= 6) as.integer(strsplit(args[6], ",")[[1]]) else 1L
seed <- seeds[1]
sgd_threads <- if (length(args) >= 7) as.integer(args[7]) else 0L
nn <- if (n < 4096) "fnn" else "annoy"
if (mode == "graph" || mode == "spectral") {
  set.seed(seed)
  G <- similarity_graph(X, n_neighbors = 15, nn_method = "fnn", set_op_mix_ratio = 1,
                        local_connectivity = 1, n_threads = threads)
  if (mode == "spectral") {
    Y <- uwot:::spectral_init(G, ndim = 2)
    write.table(format(Y, digits = 17), paste0(prefix, ".embedding.csv"), sep = ",", row.names = FALSE,
                col.names = FALSE, quote = FALSE)
  }
  G <- as(G, "TsparseMatrix")
  write.table(data.frame(i = G@i + 1, j = G@j + 1, w = sprintf("%.17g", G@x)), paste0(prefix, ".graph.csv"),
              sep = ",", row.names = FALSE, col.names = FALSE, quote = FALSE)
} else if (mode == "embed") {
  for (s in seeds) {
    set.seed(s)
    p0 <- proc.time()
    t0 <- Sys.time()
    Y <- umap(X, n_neighbors = 15, min_dist = 0.1, spread = 1, n_epochs = epochs, init = "spectral",
              learning_rate = 1, negative_sample_rate = 5, nn_method = nn, n_threads = threads,
              n_sgd_threads = sgd_threads, verbose = FALSE)
    dt <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
    p1 <- proc.time() - p0
    cpu <- sum(p1[c("user.self", "sys.self")], na.rm = TRUE)
    out <- if (length(seeds) > 1) paste0(prefix, ".embedding.", s, ".csv") else paste0(prefix, ".embedding.csv")
    write.table(format(Y, digits = 17), out, sep = ",", row.names = FALSE, col.names = FALSE, quote = FALSE)
    if (s == seeds[1]) {
      writeLines(sprintf("%.3f", dt), paste0(prefix, ".seconds"))
      writeLines(sprintf("%.3f", cpu), paste0(prefix, ".cpu"))
    }
  }
} else {
  stop("mode must be graph, spectral or embed")
}
