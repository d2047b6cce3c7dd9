package yamlconf

import (
	"bytes"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Parse returns base with the YAML document b applied over it; unknown
// keys are an error.
func Parse[T any](b []byte, base T) (T, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	c := base
	if err := dec.Decode(&c); err != nil {
		var zero T
		return zero, err
	}
	return c, nil
}

// Load reads the YAML file path over base; errors name the file.
func Load[T any](path string, base T) (T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b, base)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Render returns v as YAML (--print-config).
func Render(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
