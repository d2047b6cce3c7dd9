// Package stats computes the statistics of the paper's evaluation, with the
// rules of R's pROC (Robin et al. 2011, https://xrobin.github.io/pROC/) so that
// cmrfm reproduces the published tables of Shad et al. (arXiv 2312.00357)
// number for number:
//
//   - the empirical ROC curve and its AUROC (Mann–Whitney, ties counted ½),
//     with pROC's automatic direction (median rule) or an explicit one;
//   - DeLong's variance and confidence interval of the AUROC (DeLong, DeLong
//     and Clarke-Pearson 1988), computed in O(n log n) from midrank placement
//     values (Sun and Xu 2014) instead of pROC's pairwise definition;
//   - a seeded, stratified percentile bootstrap interval;
//   - DeLong's comparison of two ROC curves: paired when the two label
//     vectors are identical element by element, otherwise pROC's unpaired
//     test with Welch–Satterthwaite degrees of freedom;
//   - operating points with pROC's coords semantics: Youden's J and the best
//     threshold at a minimum sensitivity or specificity, with accuracy, PPV
//     and NPV;
//   - regression metrics (MAE, MSE, RMSE, Pearson's r) and the Bland–Altman
//     bias and limits of agreement with their confidence intervals (Bland and
//     Altman 1986, 1999).
//
// # Failure policy
//
// As in gonum's stat package: a caller bug (slices of different lengths, a
// confidence level outside (0, 1)) panics with a "stats:" message; an answer
// that is mathematically undefined (a variance from a single case) is NaN;
// procedures that can fail on data (a non-finite score, a single class)
// return an error wrapping one of the Err values.
//
// The package imports nothing else of cmrfm. Its golden tests compare against
// R 4.2.2 with pROC 1.18.0 (Debian r-cran-proc), produced by
// testdata/gen/stats/gen_proc.R.
package stats
