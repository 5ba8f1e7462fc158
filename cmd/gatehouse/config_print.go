package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/store/pgstore"
)

// masked replaces a secret's value in printed configuration.
const masked = "********"

// PrintConfig writes the effective configuration as YAML, secrets masked,
// each value that is not a default annotated with where it came from.
func PrintConfig(w io.Writer, cfg Config, sources map[string]string) error {
	root := toNode(reflect.ValueOf(cfg), "", sources, false)
	root.HeadComment = "Effective configuration (later wins: defaults < file < GATEHOUSE_* environment < flags)."
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}

// toNode renders v as a YAML node, masking fields tagged secret and adding
// a line comment naming the source of every non-default leaf.
func toNode(v reflect.Value, path string, sources map[string]string, secret bool, redact ...string) *yaml.Node {
	redactDSN := len(redact) > 0 && redact[0] == "dsn"
	scalar := func(s string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
		if src, ok := sources[path]; ok {
			n.LineComment = "from " + src
		}
		return n
	}
	switch {
	case secret && !v.IsZero():
		return scalar(masked)
	case redactDSN && v.Kind() == reflect.String:
		n := scalar(pgstore.RedactURL(v.String()))
		n.Style = quoteIfNeeded(n.Value)
		return n
	case v.Kind() == reflect.Pointer && v.IsNil():
		n := scalar("null")
		n.Tag = "!!null"
		return n
	case v.Kind() == reflect.Pointer:
		return toNode(v.Elem(), path, sources, secret)
	case v.Type() == durationType:
		return scalar(time.Duration(v.Int()).String())
	case v.Type() == rawJSONType:
		var x any
		if v.Len() == 0 || json.Unmarshal(v.Bytes(), &x) != nil {
			return scalar("")
		}
		n := &yaml.Node{}
		_ = n.Encode(x)
		return n
	case v.Kind() == reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			key := joinKey(path, name)
			n.Content = append(n.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Value: name},
				toNode(v.Field(i), key, sources, f.Tag.Get("secret") == "true", f.Tag.Get("redact")))
		}
		return n
	case v.Kind() == reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		if v.Type().Elem().Kind() == reflect.Struct {
			n.Style = 0
		}
		for i := range v.Len() {
			n.Content = append(n.Content, toNode(v.Index(i), fmt.Sprintf("%s[%d]", path, i), sources, false))
		}
		// A block sequence's line comment would be printed after its last
		// entry, on the next key's line; its entries carry their sources.
		if src, ok := sources[path]; ok && n.Style == yaml.FlowStyle {
			n.LineComment = "from " + src
		}
		return n
	default:
		n := scalar(fmt.Sprint(v.Interface()))
		if v.Kind() == reflect.String {
			n.Style = quoteIfNeeded(v.String())
		}
		return n
	}
}

func quoteIfNeeded(s string) yaml.Style {
	if s == "" || strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`") {
		return yaml.DoubleQuotedStyle
	}
	return 0
}

// WriteReference writes the configuration reference in Markdown: every
// setting with its default, unit, environment variable, flag and meaning.
func WriteReference(w io.Writer) {
	def := reflect.ValueOf(Defaults())
	fmt.Fprintln(w, "| key | default | environment / flag | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range settings() {
		d := "(none)"
		if !strings.Contains(s.Key, "[]") {
			d = formatDefault(def.FieldByIndex(s.Index))
		}
		how := "file only"
		if s.Scalar {
			how = fmt.Sprintf("`%s`<br>`--%s`", s.Env(), s.Flag())
		}
		help := s.Help
		if s.Unit != "" {
			help += fmt.Sprintf(" Unit: %s.", s.Unit)
		} else if s.Type == durationType {
			help += " A Go duration (90s, 15m, 24h)."
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", s.Key, d, how, help)
	}
}

func formatDefault(v reflect.Value) string {
	if v.Kind() == reflect.Bool {
		return fmt.Sprintf("`%v`", v.Bool())
	}
	if v.IsZero() {
		return "(none)"
	}
	if v.Type() == durationType {
		return "`" + time.Duration(v.Int()).String() + "`"
	}
	return fmt.Sprintf("`%v`", v.Interface())
}
