package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxJSONDepth bounds nesting in client metadata. A document needs five
// levels (document → jwks → keys → key → x5c); anything deeper is hostile.
const MaxJSONDepth = 10

// CheckJSONObject verifies that body is exactly one JSON object (RFC 8259)
// in valid UTF-8, nested at most MaxJSONDepth deep, without duplicate keys
// in any object, and with nothing after it. The returned error reads as
// the end of a sentence ("is not valid JSON ...").
//
// Duplicate keys are refused, not resolved: RFC 8259 §4 leaves their
// meaning undefined, parsers disagree (first wins, last wins, error), and
// metadata that says two things about client_id or redirect_uris is a
// parser-differential attack waiting to happen. encoding/json would keep
// the last value and replace invalid UTF-8 with U+FFFD, so both are
// refused here first, as are escaped lone surrogates (\ud800), which can
// only decode to U+FFFD. Client ID Metadata Documents and dynamic
// registrations share this gate.
func CheckJSONObject(body []byte) error {
	return walkJSONObject(body, nil)
}

// DecodeJSONObject applies CheckJSONObject's rules and returns the
// object's members by name, in the same single pass over body. Each value
// is the member's raw JSON without surrounding whitespace; the values
// alias body, which the caller must not modify afterwards.
func DecodeJSONObject(body []byte) (map[string]json.RawMessage, error) {
	members := make(map[string]json.RawMessage, 8)
	if err := walkJSONObject(body, members); err != nil {
		return nil, err
	}
	return members, nil
}

// walkJSONObject reads body with the encoding/json/v2 tokenizer
// (jsontext), whose defaults already refuse duplicate names and invalid
// UTF-8 at every level; it adds the depth bound and, when members is not
// nil, records each top-level member.
func walkJSONObject(body []byte, members map[string]json.RawMessage) error {
	// jsontext would refuse invalid UTF-8 too; checked first (it is
	// cheap) so that the error says so plainly.
	if !utf8.Valid(body) {
		return errors.New("is not valid UTF-8")
	}
	// A *bytes.Buffer lets the decoder read body in place, without a copy.
	dec := jsontext.NewDecoder(bytes.NewBuffer(body))
	tok, err := dec.ReadToken()
	if err != nil {
		return jsonSyntaxError(err)
	}
	if tok.Kind() != '{' {
		return fmt.Errorf("must be a JSON object, not %s", describeJSONKind(tok.Kind()))
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return jsonSyntaxError(err)
		}
		var key string
		if members != nil {
			key = name.String() // before the next read, which invalidates name
		}
		start := dec.InputOffset() // just after the name: the ':' and the value follow
		if err := skipJSONValue(dec); err != nil {
			return err
		}
		if members != nil {
			members[key] = bytes.TrimLeft(body[start:dec.InputOffset()], " \t\r\n:")
		}
	}
	if _, err := dec.ReadToken(); err != nil { // '}'
		return jsonSyntaxError(err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return errors.New("has data after the JSON object")
	}
	return nil
}

// skipJSONValue reads one value: a scalar whole, a container token by
// token so that its depth is checked as it opens.
func skipJSONValue(dec *jsontext.Decoder) error {
	if k := dec.PeekKind(); k != '{' && k != '[' {
		_, err := dec.ReadValue()
		return jsonSyntaxError(err)
	}
	depth := dec.StackDepth()
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return jsonSyntaxError(err)
		}
		if k := tok.Kind(); (k == '{' || k == '[') && dec.StackDepth() > MaxJSONDepth {
			return fmt.Errorf("is nested more than %d levels deep", MaxJSONDepth)
		}
		if dec.StackDepth() == depth {
			return nil
		}
	}
}

func jsonSyntaxError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("is not valid JSON (truncated)")
	}
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return fmt.Errorf("is not valid JSON (%v)", err)
	}
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return fmt.Errorf("has the key %q twice in one object (duplicate keys are refused)", se.JSONPointer.LastToken())
	}
	return fmt.Errorf("is not valid JSON (offset %d: %v)", se.ByteOffset, se.Err)
}

func describeJSONKind(k jsontext.Kind) string {
	switch k {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	}
	return "null"
}
