// Package testenv locates the shared test data and reference tools that
// cmrfm's tests use, and decides what happens when they are missing: on a
// user's clone a test skips with a loud message; in CI (CI set in the
// environment) a missing dependency fails the test, so nothing is silently
// untested.
package testenv
