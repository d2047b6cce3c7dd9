// Package report presents results to people: evaluation figures and the
// HTML report.
//
// Figures: ROC curves of the classification targets and, for regression
// targets, Bland–Altman plots, predicted-versus-reference scatter plots and
// the ROC curve of the cut-off outcome (heart failure, LVEF < 40 %). The plot
// constructors take the results of package stats and return a *plot.Plot, so
// a caller can restyle a figure before saving it; ClassificationPlots and
// RegressionPlots write every figure of an evaluation as PNG and SVG.
//
// The HTML report (WriteHTML, cmrfm report): one self-contained page — the
// cohort, the paper's tables per task beside an optional baseline with
// DeLong's test, the figures as inline SVG, training curves, a sortable
// per-study table linking the best and worst studies to their attention
// videos, the explain outputs, and the provenance of every input. BuildPage
// computes the content and RenderHTML formats it, so tests can check one
// without the other.
package report
