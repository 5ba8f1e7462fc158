package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// envPrefix starts every environment variable Gatehouse reads.
const envPrefix = "GATEHOUSE_"

// envConfigFile names the config file when --config is not given. It is
// not a setting itself, so it is exempt from the unknown-variable check.
const envConfigFile = envPrefix + "CONFIG"

// setting is one leaf of Config: a key with its field, env var and flag.
type setting struct {
	Key    string
	Index  []int
	Type   reflect.Type
	Help   string
	Unit   string
	Secret bool
	// Scalar settings can come from the environment and flags too; the
	// others (lists of objects) only from the file.
	Scalar bool
}

// Env is the setting's environment variable.
func (s setting) Env() string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(s.Key, ".", "_"))
}

// Flag is the setting's command-line flag name (without dashes).
func (s setting) Flag() string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(s.Key)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	rawJSONType  = reflect.TypeFor[json.RawMessage]()
)

// settings lists every leaf of Config in declaration order.
func settings() []setting {
	var out []setting
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			key := prefix + name
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct && f.Type != durationType {
				walk(f.Type, key+".", idx)
				continue
			}
			out = append(out, setting{
				Key: key, Index: idx, Type: f.Type,
				Help: f.Tag.Get("help"), Unit: f.Tag.Get("unit"),
				Secret: f.Tag.Get("secret") == "true",
				Scalar: isScalar(f.Type) && !strings.Contains(prefix, "[]"),
			})
			if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
				// Document the fields of each list entry (file only).
				walk(f.Type.Elem(), key+"[].", nil)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}

func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	return name
}

// isScalar: settable from a single string (lists of strings split on commas).
func isScalar(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

// loader accumulates a configuration, where each value came from, and every
// problem met on the way.
type loader struct {
	cfg      Config
	sources  map[string]string
	problems []Problem
}

func (l *loader) problem(key, source, format string, args ...any) {
	l.problems = append(l.problems, Problem{Key: key, Source: source, Msg: fmt.Sprintf(format, args...)})
}

// LoadConfig builds the effective configuration: defaults, then the YAML
// file (if file is not empty), then GATEHOUSE_* variables from environ, then
// the flags that were set on fs. It returns every problem found, parsing and
// validation alike; the configuration is usable only if there are none.
func LoadConfig(file string, environ []string, fs *pflag.FlagSet) (Config, map[string]string, []Problem) {
	l := &loader{cfg: Defaults(), sources: map[string]string{}}
	if file != "" {
		l.loadFile(file)
	}
	l.loadEnv(environ)
	if fs != nil {
		l.loadFlags(fs)
	}
	for _, p := range l.cfg.Validate() {
		p.Source = l.sourceOf(p.Key)
		l.problems = append(l.problems, p)
	}
	return l.cfg, l.sources, l.problems
}

// sourceOf finds where key (or, for "list[3].x", its list) was set.
func (l *loader) sourceOf(key string) string {
	for k := key; k != ""; {
		if src, ok := l.sources[k]; ok {
			return src
		}
		if i := strings.LastIndexAny(k, ".["); i > 0 {
			k = k[:i]
		} else {
			break
		}
	}
	return "default"
}

func (l *loader) field(s setting) reflect.Value {
	return reflect.ValueOf(&l.cfg).Elem().FieldByIndex(s.Index)
}

func (l *loader) loadFile(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		l.problem("config", file, "cannot read: %v", errors.Unwrap(err))
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.problem("config", file, "not valid YAML: %v", err)
		return
	}
	if len(doc.Content) == 0 {
		return // empty file: all defaults
	}
	d := nodeDecoder{file: file, l: l}
	d.decode(doc.Content[0], reflect.ValueOf(&l.cfg).Elem(), "")
}

func (l *loader) loadEnv(environ []string) {
	known := map[string]setting{}
	for _, s := range settings() {
		if s.Scalar {
			known[s.Env()] = s
		}
	}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || name == envConfigFile {
			continue
		}
		s, ok := known[name]
		if !ok {
			l.problem(name, "environment", "unknown variable: no setting is named %s", envNameToKey(name))
			continue
		}
		l.set(s, value, "env "+name)
	}
}

func envNameToKey(name string) string {
	return strings.ToLower(strings.TrimPrefix(name, envPrefix))
}

// RegisterConfigFlags adds a flag for every scalar setting to fs.
func RegisterConfigFlags(fs *pflag.FlagSet) {
	for _, s := range settings() {
		if !s.Scalar {
			continue
		}
		usage := s.Help
		if s.Type.Kind() == reflect.Slice {
			fs.StringArray(s.Flag(), nil, usage+" (repeat or comma-separate)")
			continue
		}
		fs.String(s.Flag(), "", usage)
		if s.Type.Kind() == reflect.Bool {
			fs.Lookup(s.Flag()).NoOptDefVal = "true"
		}
	}
}

func (l *loader) loadFlags(fs *pflag.FlagSet) {
	for _, s := range settings() {
		f := fs.Lookup(s.Flag())
		if !s.Scalar || f == nil || !f.Changed {
			continue
		}
		value := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			value = strings.Join(sv.GetSlice(), ",")
		}
		l.set(s, value, "flag --"+s.Flag())
	}
}

// set parses a string value into the setting's field.
func (l *loader) set(s setting, value, source string) {
	if err := setScalar(l.field(s), value); err != nil {
		l.problem(s.Key, source, "%v", err)
		return
	}
	l.sources[s.Key] = source
}

// setScalar parses s into v according to v's type.
func setScalar(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a duration (use Go syntax such as 90s, 15m, 24h)", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a boolean (true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Slice:
		var items []string
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("cannot be set from a string")
	}
	return nil
}

// nodeDecoder decodes a YAML node tree into Config, reporting unknown keys
// and bad values with their full key and line instead of stopping at the
// first, as yaml.Decoder would.
type nodeDecoder struct {
	file string
	l    *loader
}

func (d nodeDecoder) at(n *yaml.Node) string { return fmt.Sprintf("%s:%d", d.file, n.Line) }

func (d nodeDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" {
		return // key present without value: keep the default
	}
	if path != "" {
		d.l.sources[path] = d.at(n)
	}
	switch {
	case v.Kind() == reflect.Pointer:
		// An optional value (unset differs from its zero value).
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case v.Type() == rawJSONType:
		d.decodeRawJSON(n, v, path)
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		d.decodeStruct(n, v, path)
	case v.Kind() == reflect.Slice && !isScalar(v.Type()) || v.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		d.decodeSlice(n, v, path)
	default:
		if n.Kind != yaml.ScalarNode {
			d.l.problem(path, d.at(n), "expected a single value, found a %s", kindName(n))
			return
		}
		if err := setScalar(v, n.Value); err != nil {
			d.l.problem(path, d.at(n), "%v", err)
		}
	}
}

func (d nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.l.problem(orRoot(path), d.at(n), "expected a mapping of keys, found a %s", kindName(n))
		return
	}
	fields := map[string]int{}
	var names []string
	for i := range v.NumField() {
		if name := yamlName(v.Type().Field(i)); name != "" {
			fields[name] = i
			names = append(names, name)
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := joinKey(path, k.Value)
		if seen[k.Value] {
			d.l.problem(key, d.at(k), "key appears twice")
			continue
		}
		seen[k.Value] = true
		idx, ok := fields[k.Value]
		if !ok {
			sort.Strings(names)
			d.l.problem(key, d.at(k), "unknown key (known here: %s)", strings.Join(names, ", "))
			continue
		}
		d.decode(val, v.Field(idx), key)
	}
}

func (d nodeDecoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.l.problem(path, d.at(n), "expected a list, found a %s", kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		// List entries with defaults of their own (login.providers[].
		// require_verified_email is true unless set).
		if d, ok := out.Index(i).Addr().Interface().(interface{ setDefaults() }); ok {
			d.setDefaults()
		}
		d.decode(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(out)
}

// decodeRawJSON turns a YAML subtree (e.g. an inline JWKS) into JSON.
func (d nodeDecoder) decodeRawJSON(n *yaml.Node, v reflect.Value, path string) {
	var x any
	if err := n.Decode(&x); err != nil {
		d.l.problem(path, d.at(n), "%v", err)
		return
	}
	if s, ok := x.(string); ok && json.Valid([]byte(s)) {
		v.SetBytes([]byte(s)) // JSON given as a string
		return
	}
	b, err := json.Marshal(x)
	if err != nil {
		d.l.problem(path, d.at(n), "cannot be expressed as JSON: %v", err)
		return
	}
	v.SetBytes(b)
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "config"
	}
	return path
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("value %q", n.Value)
	}
	return "node"
}
