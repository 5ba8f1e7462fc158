package cimd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting. A metadata document needs 5 levels
// (document → jwks → keys → key → x5c); anything deeper is hostile.
const maxJSONDepth = 10

// checkJSONObject verifies that body is exactly one JSON object (RFC 8259)
// in valid UTF-8, nested at most maxJSONDepth deep, without duplicate keys
// in any object, and with nothing after it.
//
// Duplicate keys are refused, not resolved: RFC 8259 §4 leaves their
// meaning undefined, parsers disagree (first wins, last wins, error), and
// a document that says two things about "client_id" or "redirect_uris"
// is a parser-differential attack waiting to happen. encoding/json would
// silently keep the last value and would replace invalid UTF-8 with
// U+FFFD, so both are checked here first.
func checkJSONObject(body []byte) error {
	if !utf8.Valid(body) {
		return errors.New("is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("must be a JSON object, not %s", describeToken(tok))
	}
	if err := walkObject(dec, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("has data after the JSON object")
	}
	return nil
}

func walkObject(dec *json.Decoder, depth int) error {
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		key, _ := tok.(string)
		if _, dup := seen[key]; dup {
			return fmt.Errorf("has the key %q twice in one object (duplicate keys are refused)", key)
		}
		seen[key] = struct{}{}
		if err := walkValue(dec, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return syntaxError(err)
}

func walkValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	delim, isDelim := tok.(json.Delim)
	if !isDelim {
		return nil
	}
	if depth+1 > maxJSONDepth {
		return fmt.Errorf("is nested more than %d levels deep", maxJSONDepth)
	}
	if delim == '{' {
		return walkObject(dec, depth+1)
	}
	for dec.More() { // '['
		if err := walkValue(dec, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token() // ']'
	return syntaxError(err)
}

func syntaxError(err error) error {
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("is not valid JSON (offset %d: %v)", se.Offset, se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("is not valid JSON (truncated)")
	}
	return fmt.Errorf("is not valid JSON (%v)", err)
}

func describeToken(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}
