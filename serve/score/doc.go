// Package score validates and scores leaderboard submissions against a
// task's hidden labels, with package stats unchanged:
//
//   - regression (LVEF): MAE (the ranking score, lower is better), RMSE,
//     MSE, Pearson's r, Bland–Altman bias and limits of agreement with their
//     95 % CIs, and the heart-failure AUROC (label < cut-off, lower predicted
//     LVEF = case) with its DeLong 95 % CI;
//   - classification (one or more diseases): per-label AUROC (higher
//     probability = case) with its DeLong 95 % CI, the operating points at
//     Youden's J, sensitivity ≥ 0.90 and specificity ≥ 0.90, and the macro
//     AUROC (the ranking score, higher is better).
//
// Every number is computed separately for the public and the private part
// of the test set (Kaggle style). The leaderboard (Rank) compares each
// team's entry with the leader by DeLong's paired test, so ranks that are
// statistically tied read as tied.
//
// No response may reveal a hidden label, and a plot drawn from single
// studies would: a team knows its own predictions, so an exact ROC curve
// gives away every study's class, and a Bland–Altman scatter every study's
// LVEF. The figures are therefore drawn from aggregates only: each ROC
// point steps over at least Task.MinBin studies, and each Bland–Altman
// point is the mean of at least MinBin pairs (docs/leaderboard.md).
//
// Parse reads `cmrfm predict` tables with stats/evaluate's table reader
// (CSV or W&B JSON): columns filenames and preds (regression) or probs
// (classification; probs_<target> for several targets in one file, or one
// file per target). Bad input is an error naming the file, row and column.
package score
