package policy

import (
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Lengths of self-asserted display fields, in characters (runes). One set
// for dynamic registration and metadata documents alike.
const (
	MaxClientNameRunes   = 100
	MaxShortFieldRunes   = 256 // software_id, software_version
	MaxContactRunes      = 320 // an e-mail address at most (RFC 5321 §4.5.3.1)
	maxCombiningInARow   = 4   // more stacks marks over neighbouring text
	RuleDisplayText      = "display-text"
	SpecDisplayText      = "Gatehouse decision: display text"
	zeroWidthNonJoiner   = '\u200c'
	zeroWidthJoiner      = '\u200d'
	brailleBlank         = '\u2800'
	hangulFillerChoseong = '\u115f'
)

// CheckDisplayText is the one rule for every self-asserted text Gatehouse
// shows to people or writes to logs: client_name, software_id,
// software_version and contacts, whether they come from a registration
// (RFC 7591) or a metadata document (CIMD). Such text reaches the consent
// page, /account, the CLI's tables and the audit log, where characters
// that are invisible or that reorder text would let a client disguise its
// name ("evil" shown as "live", a name padded with invisible characters
// to look like another) or forge layout and log lines.
//
// Refused: more than maxRunes characters; invalid UTF-8; control
// characters (Cc: newlines, tabs, escape); line and paragraph separators
// (Zl, Zp); format characters (Cf: bidirectional controls and isolates,
// zero-width space, word joiner, BOM, soft hyphen, tag characters), except
// the zero-width joiner and non-joiner between two visible characters
// (emoji sequences, Persian and Indic spelling need them); the other
// default-ignorable characters (Hangul fillers, Khmer inherent vowels,
// combining grapheme joiner) and the blank braille pattern; variation
// selectors that do not follow a visible character; private-use,
// surrogate and unassigned code points; more than four combining marks in
// a row. The text must also show something: a visible character, no white
// space at either end or twice in a row (a name padded with spaces, even
// ideographic ones, can push "(unverified)" or the rest of a line out of a
// table cell), and no combining mark first (it would join the quotation
// mark the page puts before the name). Ordinary letters, digits,
// punctuation, symbols, emoji and single spaces of every script pass.
func CheckDisplayText(field, s string, maxRunes int) error {
	if !utf8.ValidString(s) {
		return ruleErr(RuleDisplayText, SpecDisplayText, field+" is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return ruleErr(RuleDisplayText, SpecDisplayText, fmt.Sprintf("%s is longer than %d characters", field, maxRunes))
	}
	runes := []rune(s)
	marks := 0
	for i, r := range runes {
		if unicode.In(r, unicode.Mn, unicode.Me) && !unicode.Is(unicode.Variation_Selector, r) {
			if marks++; marks > maxCombiningInARow {
				return ruleErr(RuleDisplayText, SpecDisplayText, fmt.Sprintf("%s stacks more than %d combining marks", field, maxCombiningInARow))
			}
		} else {
			marks = 0
		}
		if why := invisible(runes, i); why != "" {
			return ruleErr(RuleDisplayText, SpecDisplayText, fmt.Sprintf(
				"%s contains %U, %s, which could disguise it; use plain visible text", field, r, why))
		}
	}
	if len(runes) == 0 {
		return nil
	}
	switch first, last := runes[0], runes[len(runes)-1]; {
	case !slices.ContainsFunc(runes, visibleBase):
		return ruleErr(RuleDisplayText, SpecDisplayText, field+" has no visible character")
	case unicode.IsSpace(first) || unicode.IsSpace(last):
		return ruleErr(RuleDisplayText, SpecDisplayText, field+" starts or ends with white space")
	case unicode.Is(unicode.M, first):
		return ruleErr(RuleDisplayText, SpecDisplayText, fmt.Sprintf(
			"%s starts with the combining mark %U, which would join the text shown before it", field, first))
	}
	for i := 1; i < len(runes); i++ {
		if unicode.IsSpace(runes[i]) && unicode.IsSpace(runes[i-1]) {
			return ruleErr(RuleDisplayText, SpecDisplayText, fmt.Sprintf(
				"%s has white space twice in a row, which can pad it to push what follows out of sight", field))
		}
	}
	return nil
}

// invisible says why runes[i] may not appear in display text, or "".
func invisible(runes []rune, i int) string {
	r := runes[i]
	switch {
	case unicode.IsControl(r):
		return "a control character"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return "a line or paragraph separator"
	case r == zeroWidthJoiner || r == zeroWidthNonJoiner:
		if i == 0 || i == len(runes)-1 || !visible(runes[i-1]) || !visible(runes[i+1]) {
			return "a zero-width joiner that joins nothing"
		}
		return ""
	case unicode.Is(unicode.Bidi_Control, r):
		return "a bidirectional control"
	case unicode.Is(unicode.Cf, r):
		return "an invisible format character"
	case unicode.Is(unicode.Variation_Selector, r):
		if i == 0 || !visible(runes[i-1]) {
			return "a variation selector that follows no character"
		}
		return ""
	case unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r), r == brailleBlank, r == hangulFillerChoseong:
		return "an invisible character"
	case unicode.In(r, unicode.Co, unicode.Cs), !assigned(r):
		return "a private-use or unassigned code point"
	}
	return ""
}

// visible: a letter, mark, number, punctuation or symbol (not a space, a
// format character or a joiner).
func visible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) &&
		!unicode.Is(unicode.Variation_Selector, r) && !unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && r != brailleBlank
}

// visibleBase: a visible character that is not a mark. Marks, spacing
// ones (Mc) included, render only on a base character: text made only of
// them shows nothing a user can read.
func visibleBase(r rune) bool { return visible(r) && !unicode.Is(unicode.M, r) }

// assigned: the code point has a general category in Go's Unicode tables.
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}
