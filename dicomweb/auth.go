package dicomweb

import (
	"fmt"
	"os"
	"strings"
)

// Environment variables LoadAuth reads when no credentials file is given.
const (
	EnvUser     = "CMRFM_DICOMWEB_USER"
	EnvPassword = "CMRFM_DICOMWEB_PASSWORD"
	EnvToken    = "CMRFM_DICOMWEB_TOKEN"
)

// Auth is how requests authenticate. The zero value sends no credentials.
type Auth struct {
	// Kind is "" (none), "basic" or "bearer".
	Kind string
	// User and Password for basic authentication.
	User, Password string
	// Token for bearer authentication (sent as "Authorization: Bearer …").
	Token string
}

// LoadAuth reads credentials of the given kind ("", "none", "basic" or
// "bearer") from file when it is set, else from the environment (getenv,
// e.g. os.Getenv): basic takes "user:password" from the file's first line
// or CMRFM_DICOMWEB_USER and CMRFM_DICOMWEB_PASSWORD; bearer takes the
// token from the file's first line or CMRFM_DICOMWEB_TOKEN. A credentials
// file must not be readable by group or others.
func LoadAuth(kind, file string, getenv func(string) string) (Auth, error) {
	switch kind {
	case "", "none":
		if file != "" {
			return Auth{}, fmt.Errorf("dicomweb: a credentials file was given without --auth basic or bearer")
		}
		return Auth{}, nil
	case "basic", "bearer":
	default:
		return Auth{}, fmt.Errorf("dicomweb: auth %q: want basic or bearer", kind)
	}
	a := Auth{Kind: kind}
	var line string
	if file != "" {
		st, err := os.Stat(file)
		if err != nil {
			return a, fmt.Errorf("dicomweb: credentials file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return a, fmt.Errorf("dicomweb: credentials file %s is readable by others (mode %04o): chmod 600 it", file, st.Mode().Perm())
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return a, fmt.Errorf("dicomweb: credentials file: %w", err)
		}
		line, _, _ = strings.Cut(string(b), "\n")
		line = strings.TrimRight(line, "\r")
		if line == "" {
			return a, fmt.Errorf("dicomweb: credentials file %s is empty", file)
		}
	}
	if kind == "bearer" {
		a.Token = line
		if file == "" {
			a.Token = getenv(EnvToken)
		}
		if a.Token == "" {
			return a, fmt.Errorf("dicomweb: --auth bearer needs a token: set %s or give a credentials file holding it", EnvToken)
		}
		return a, nil
	}
	if file != "" {
		var ok bool
		if a.User, a.Password, ok = strings.Cut(line, ":"); !ok || a.User == "" {
			return a, fmt.Errorf("dicomweb: credentials file %s: want user:password on its first line", file)
		}
		return a, nil
	}
	a.User, a.Password = getenv(EnvUser), getenv(EnvPassword)
	if a.User == "" {
		return a, fmt.Errorf("dicomweb: --auth basic needs credentials: set %s and %s, or give a credentials file holding user:password", EnvUser, EnvPassword)
	}
	return a, nil
}
