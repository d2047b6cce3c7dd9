package yamlconf

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rename says that a configuration key moved. The old key keeps working
// for one release: its value is moved to the new key and a warning names
// the new key.
type Rename struct {
	// Old and New are dotted key paths, such as "trainer.checkpoint_every"
	// and "trainer.checkpoint_every_epochs".
	Old, New string
	// Convert, if set, turns the old value (scalar text) into the new one;
	// lookup returns another scalar of the same document by dotted path.
	Convert func(value string, lookup func(path string) (string, bool)) (string, error)
}

// Options tune Parse and Load.
type Options struct {
	// Renames are the deprecated keys still accepted.
	Renames []Rename
	// Log receives the deprecation warnings (nil: slog.Default()).
	Log *slog.Logger
	// Source names the document in warnings (a file path).
	Source string
	// What prefixes errors ("finetune" → "finetune: config …: …").
	What string
}

// wrap returns err as "[What: ]config[ where]: err".
func (o Options) wrap(where string, err error) error {
	if where != "" {
		where = " " + where
	}
	if o.What != "" {
		return fmt.Errorf("%s: config%s: %w", o.What, where, err)
	}
	return fmt.Errorf("config%s: %w", where, err)
}

// ParseWith is Parse with deprecated keys renamed as o says; errors are
// prefixed "[What: ]config: ".
func ParseWith[T any](b []byte, base T, o Options) (T, error) {
	c, err := parseWith(b, base, o)
	if err != nil {
		return c, o.wrap("", err)
	}
	return c, nil
}

func parseWith[T any](b []byte, base T, o Options) (T, error) {
	b, err := o.rename(b)
	if err != nil {
		var zero T
		return zero, err
	}
	return Parse(b, base)
}

// LoadWith is Load with deprecated keys renamed as o says; errors are
// prefixed "[What: ]config PATH: ".
func LoadWith[T any](path string, base T, o Options) (T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, o.wrap("", err)
	}
	if o.Source == "" {
		o.Source = path
	}
	c, err := parseWith(b, base, o)
	if err != nil {
		return c, o.wrap(path, err)
	}
	return c, nil
}

// IdentityOver is the run identity (RenderIdentity) of the YAML document y
// read over base with o's renames, warnings dropped: how a trainer compares
// the configuration a checkpoint recorded with its own, keys the
// checkpoint predates keeping base's values.
func IdentityOver[T any](y string, base T, o Options) (string, error) {
	o.Log = slog.New(slog.DiscardHandler)
	c, err := ParseWith([]byte(y), base, o)
	if err != nil {
		return "", err
	}
	return RenderIdentity(c)
}

// rename rewrites the deprecated keys of document b. A document without
// any is returned as it is (so error positions keep their lines).
func (o Options) rename(b []byte) ([]byte, error) {
	if len(o.Renames) == 0 {
		return b, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return b, nil
	}
	root := doc.Content[0]
	lookup := func(path string) (string, bool) {
		_, v := find(root, strings.Split(path, "."))
		if v == nil || v.Kind != yaml.ScalarNode {
			return "", false
		}
		return v.Value, true
	}
	changed := false
	for _, r := range o.Renames {
		oldPath := strings.Split(r.Old, ".")
		parent, val := find(root, oldPath)
		if val == nil {
			continue
		}
		newPath := strings.Split(r.New, ".")
		if _, v := find(root, newPath); v != nil {
			return nil, fmt.Errorf("both %s and %s are set; %s is the deprecated name of %s: keep only %s", r.Old, r.New, r.Old, r.New, r.New)
		}
		if r.Convert != nil {
			if val.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: want a single value", r.Old)
			}
			nv, err := r.Convert(val.Value, lookup)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Old, err)
			}
			val = &yaml.Node{Kind: yaml.ScalarNode, Value: nv, Tag: val.Tag}
		}
		remove(parent, oldPath[len(oldPath)-1])
		dst := ensure(root, newPath[:len(newPath)-1])
		dst.Content = append(dst.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: newPath[len(newPath)-1]}, val)
		changed = true
		log := o.Log
		if log == nil {
			log = slog.Default()
		}
		args := []any{"key", r.Old, "use", r.New}
		if o.Source != "" {
			args = append([]any{"config", o.Source}, args...)
		}
		log.Warn("deprecated configuration key: "+r.Old+" is now "+r.New+"; the old name stops working in the next release", args...)
	}
	if !changed {
		return b, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// find returns the mapping holding the last key of path and the key's
// value, or nils.
func find(n *yaml.Node, path []string) (parent, value *yaml.Node) {
	for i, k := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil, nil
		}
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == k {
				next = n.Content[j+1]
			}
		}
		if i == len(path)-1 {
			if next == nil {
				return nil, nil
			}
			return n, next
		}
		n = next
	}
	return nil, nil
}

// remove deletes key from mapping n.
func remove(n *yaml.Node, key string) {
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == key {
			n.Content = append(n.Content[:j], n.Content[j+2:]...)
			return
		}
	}
}

// ensure returns the mapping at path below n, creating empty mappings.
func ensure(n *yaml.Node, path []string) *yaml.Node {
	for _, k := range path {
		_, v := find(n, []string{k})
		if v == nil {
			v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
		}
		n = v
	}
	return n
}

// TagMachine marks a configuration field that describes the machine a run
// happens to use (`cmrfm:"machine"`: workers, prefetch depth, backend,
// progress bars, output folders) rather than the run itself: RenderIdentity
// leaves it out, so a run can be resumed elsewhere.
const TagMachine = "machine"

// RenderIdentity renders v as YAML with every field tagged
// `cmrfm:"machine"` set to its zero value: what two runs must share for one
// to continue the other.
func RenderIdentity(v any) (string, error) {
	c := reflect.New(reflect.TypeOf(v)).Elem()
	c.Set(reflect.ValueOf(v))
	zeroMachine(c)
	return Render(c.Interface())
}

func zeroMachine(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Tag.Get("cmrfm") == TagMachine {
				v.Field(i).SetZero()
				continue
			}
			zeroMachine(v.Field(i))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Type().Elem())
			c.Elem().Set(v.Elem())
			zeroMachine(c.Elem())
			v.Set(c)
		}
	}
}
