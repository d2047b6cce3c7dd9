// Package report renders evaluation results as figures: ROC curves of the
// classification targets and, for regression targets, Bland–Altman plots,
// predicted-versus-reference scatter plots and the ROC curve of the
// cut-off outcome (heart failure, LVEF < 40 %). Each figure is written as
// PNG and SVG with gonum/plot.
//
// The plot constructors take the results of package stats and return a
// *plot.Plot, so a caller can restyle a figure before saving it; the
// ClassificationPlots and RegressionPlots helpers write every figure of an
// evaluation report.
package report
