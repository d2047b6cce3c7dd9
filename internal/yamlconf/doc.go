// Package yamlconf reads and writes cmrfm's YAML configuration files the
// one way every command does: a file is read over a base value (so it
// names only what differs from a preset), and a key the configuration
// does not have is an error, not a silent no-op.
package yamlconf
