// Package evaluate runs the paper's evaluation on prediction tables: it reads
// W&B table exports (*.table.json, docs/reference.md §4.3) or CSV files, one per
// target or a folder with one sub-folder per target (the layout of the
// paper's raw_dataframes), computes the statistics of package stats for each
// target and model, and writes CSVs in the paper's column layout, formatted
// as R's write.csv formats them.
//
// Classify reproduces internal_test_auc_sig_results_combined.csv,
// internal_test_auc_df.csv and internal_test_set_prevalence.csv of
// rohanshad/cmr_transformer from the published tables (docs/reference.md §5.2);
// Regress computes the LVEF statistics of §5.4.
//
// Bad input — a missing column, a cell that is not a number, a non-finite
// value, a row with too few cells, a label other than 0/1, a single class —
// is an error wrapping ErrBadTable that names the file, the row and the
// column.
package evaluate
