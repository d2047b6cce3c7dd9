package yamlconf

import (
	"fmt"
	"reflect"
	"strings"
)

// Field returns the field of the struct *ptr that YAML key path names
// (dotted, as "trainer.max_updates"), following inline structs, so a
// command can bind a flag to a key declared once. The value is settable.
func Field(ptr any, path string) (reflect.Value, error) {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("yamlconf: Field wants a pointer to a struct, got %T", ptr)
	}
	v = v.Elem()
	for _, k := range strings.Split(path, ".") {
		f, ok := fieldByKey(v, k)
		if !ok {
			return reflect.Value{}, fmt.Errorf("yamlconf: %T has no key %s", ptr, path)
		}
		v = f
	}
	return v, nil
}

// fieldByKey finds the field of struct v whose YAML key is k.
func fieldByKey(v reflect.Value, k string) (reflect.Value, bool) {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			if fv, ok := fieldByKey(v.Field(i), k); ok {
				return fv, true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == k {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}
