package main

import (
	"fmt"
	"reflect"

	"github.com/spf13/pflag"

	"github.com/cmrfm/cmrfm/internal/yamlconf"
)

// configFlags binds command-line flags to keys of a command's YAML
// configuration. Each flag is declared once, with the key it sets; its
// help names the key; after the configuration is read (preset, then
// --config file), apply sets the keys of the flags the user gave, so
// flags override the file.
type configFlags struct {
	fs *pflag.FlagSet
	// config is a pointer to a value of the configuration type, for the
	// field types.
	config any
	binds  []flagBinding
}

type flagBinding struct {
	flag, path string
	val        reflect.Value // pointer to the flag's value
}

// newConfigFlags returns a binder for configurations of C's type.
func newConfigFlags[C any](fs *pflag.FlagSet) *configFlags {
	return &configFlags{fs: fs, config: new(C)}
}

// flag declares --name setting the YAML key path (as "trainer.epochs");
// the help gets the key appended. The flag's type is the field's: string,
// bool, int, uint64, float64 or []string. A path the configuration does
// not have is a programming error (panics at start-up, caught by tests).
func (b *configFlags) flag(name, path, help string) *configFlags {
	field, err := yamlconf.Field(b.config, path)
	if err != nil {
		panic(err)
	}
	v := reflect.New(field.Type())
	help = fmt.Sprintf("%s (%s)", help, path)
	switch p := v.Interface().(type) {
	case *string:
		b.fs.StringVar(p, name, "", help)
	case *bool:
		b.fs.BoolVar(p, name, false, help)
	case *int:
		b.fs.IntVar(p, name, 0, help)
	case *uint64:
		b.fs.Uint64Var(p, name, 0, help)
	case *float64:
		b.fs.Float64Var(p, name, 0, help)
	case *[]string:
		b.fs.StringSliceVar(p, name, nil, help)
	default:
		panic(fmt.Sprintf("configFlags: --%s: %s has type %s", name, path, field.Type()))
	}
	b.binds = append(b.binds, flagBinding{flag: name, path: path, val: v})
	return b
}

// deprecated declares --old as a hidden alias of the already declared
// --name (its value is copied by apply), and makes pflag print a
// deprecation notice naming --name when it is used.
func (b *configFlags) deprecated(old, name string) *configFlags {
	for _, bd := range b.binds {
		if bd.flag != name {
			continue
		}
		f := b.fs.Lookup(name)
		b.fs.Var(f.Value, old, f.Usage)
		b.fs.MarkDeprecated(old, "use --"+name)
		b.binds = append(b.binds, flagBinding{flag: old, path: bd.path, val: bd.val})
		return b
	}
	panic("configFlags: --" + name + " is not declared")
}

// apply sets, in the configuration *cfg, the key of every flag the user
// gave.
func (b *configFlags) apply(cfg any) error {
	for _, bd := range b.binds {
		if !b.fs.Changed(bd.flag) {
			continue
		}
		field, err := yamlconf.Field(cfg, bd.path)
		if err != nil {
			return err
		}
		field.Set(bd.val.Elem())
	}
	return nil
}
