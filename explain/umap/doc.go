// Package umap is Uniform Manifold Approximation and Projection (McInnes,
// Healy & Melville 2018, arXiv 1802.03426), written from the paper and
// umap-learn's documented behaviour: an exact k-nearest-neighbour graph,
// the fuzzy simplicial set of the points' local metric spaces (smooth k-NN
// distances, probabilistic t-conorm union), a spectral initialisation
// (normalised Laplacian eigenmaps, per connected component), and
// stochastic gradient descent with negative sampling on the fuzzy set
// cross-entropy, with the membership curve 1/(1 + a·d^(2b)) fitted to
// min_dist and spread.
//
// [Fit] is seeded and deterministic, also in parallel (see its doc for
// how). [Trustworthiness] (sklearn's definition) and [KNNAccuracy]
// measure an embedding; R's uwot and npm's umap-js are the oracles the
// tests compare with. The package imports nothing of cmrfm.
package umap
