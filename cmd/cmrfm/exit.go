package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// The exit status of every command (README, "Exit status"):
const (
	exitOK      = 0 // everything asked for was done
	exitNothing = 1 // nothing was done: an error stopped the command, or every item failed
	exitUsage   = 2 // the command line or configuration is wrong; nothing was done
	exitPartial = 3 // some items failed, each recorded (manifest, error column, log); the rest is done
)

// usageError marks an error in the command line or configuration: the
// command exits with exitUsage.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// partialError says a command finished with some items failed (each already
// reported); it exits with exitPartial.
type partialError struct{ failed, total int }

func (p partialError) Error() string {
	return fmt.Sprintf("%d of %d items failed", p.failed, p.total)
}

// outcome maps a batch's counts to its exit: nil when nothing failed, a
// partialError when some did, an error (exit 1) when all did.
func outcome(what string, failed, total int) error {
	switch {
	case failed == 0:
		return nil
	case failed >= total:
		return fmt.Errorf("%s: all %d failed", what, total)
	}
	return partialError{failed, total}
}

// exitStatus maps a command's error to the process exit status.
func exitStatus(err error) int {
	if err == nil {
		return exitOK
	}
	var ec exitCode
	if errors.As(err, &ec) {
		return int(ec)
	}
	var ue usageError
	var pe partialError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &pe):
		return exitPartial
	case isCobraUsage(err):
		return exitUsage
	}
	return exitNothing
}

// isCobraUsage recognises cobra's own command-line errors (unknown command,
// flag or argument count), which it returns as plain errors.
func isCobraUsage(err error) bool {
	m := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "requires exactly", "required flag"} {
		if strings.HasPrefix(m, p) || strings.Contains(m, " "+p) {
			return true
		}
	}
	return false
}

// markUsage makes flag-parsing and argument-count errors of every command
// usageErrors.
func markUsage(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, s := range c.Commands() {
		markUsage(s)
	}
}
