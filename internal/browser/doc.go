// Package browser runs Debian's headless Chromium for cmrfm's browser tests
// (the HTML report, the leaderboard) and records what a page did: console
// errors, uncaught exceptions, browser-log errors and every network request.
//
// Chromium starts with the flags this machine's closed network needs
// (--disable-background-networking and friends: without them Chromium keeps
// trying to reach Google's hosts), a fresh profile in a temporary folder, and
// --no-sandbox when running as root (CI runs as root). The test fails in CI
// and skips elsewhere when /usr/bin/chromium is absent (internal/testenv).
package browser
