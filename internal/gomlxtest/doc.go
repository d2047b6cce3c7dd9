// Package gomlxtest gives cmrfm's GoMLX tests a backend without touching the
// network, plus small comparison helpers that report how far apart two
// tensors are before failing.
//
// GoMLX's own testutil.BuildTestBackend tries to download the XLA plugin and
// exits the process when it cannot; this package instead builds the pure-Go
// backend (github.com/gomlx/compute/gobackend) in its default mode, as
// cmrfm itself does (model/ops.DefaultBackendConfig), or the backend named
// by $GOMLX_BACKEND when a developer has installed another one and
// registered it with a blank import.
package gomlxtest
