// Package serve is cmrfm's test-set leaderboard, the web app a cardiac
// imaging consortium runs so that teams can submit `cmrfm predict` tables
// for a hidden test set and see where they stand, with the paper's
// statistics, while the labels never leave the server.
//
// The pieces:
//
//   - admin.go: what `cmrfm serve admin` does: create a task from a hidden
//     index.csv (regression or multi-label classification, a seeded
//     Kaggle-style public/private split of the test studies), create teams,
//     issue and revoke tokens, close a task;
//   - server.go, handlers.go, templates/: net/http and html/template pages
//     (no JavaScript, no front-end build) and a JSON API for the same data;
//   - auth.go: API tokens stored only as argon2id hashes, browser sessions,
//     CSRF tokens; middleware.go: security headers and rate limits;
//   - worker.go: the scoring worker, which takes submissions from the queue
//     stored in the database (serve/db) and scores them with serve/score.
//
// Storage is serve/db (SQLite by default, PostgreSQL for a group's
// server). docs/leaderboard.md is the user's guide.
package serve
