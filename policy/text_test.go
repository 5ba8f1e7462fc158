package policy

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostileDisplayTexts are names that would disguise a client: each is
// refused by CheckDisplayText.
var hostileDisplayTexts = map[string]string{
	"right-to-left override":         "Claude \u202eedoC",
	"only a spacing mark":            "\u106a",
	"starts with a spacing mark":     "\u0903Claude",
	"left-to-right override":         "\u202dGoogle",
	"right-to-left embedding":        "abc\u202bdef",
	"pop directional":                "abc\u202c",
	"isolate":                        "\u2066Claude\u2069",
	"first strong isolate":           "\u2068x\u2069",
	"right-to-left mark":             "Google\u200f Drive",
	"left-to-right mark":             "\u200eGitHub",
	"arabic letter mark":             "VS\u061cCode",
	"zero-width space":               "Goo\u200bgle",
	"word joiner":                    "Git\u2060Hub",
	"BOM":                            "\ufeffCursor",
	"soft hyphen":                    "Cur\u00adsor",
	"tag characters":                 "Claude\U000E0041\U000E0042",
	"invisible times":                "a\u2062b",
	"mongolian vowel separator":      "a\u180eb",
	"hangul filler":                  "\u3164\u3164",
	"halfwidth hangul filler":        "Zed\uffa0",
	"hangul choseong filler":         "\u115fZed",
	"khmer inherent vowel":           "a\u17b4b",
	"combining grapheme joiner":      "a\u034fb",
	"braille blank":                  "Claude\u2800Code",
	"newline":                        "Claude\nApproved by your administrator",
	"carriage return":                "a\rb",
	"tab":                            "a\tb",
	"escape":                         "\x1b[31mred",
	"NUL":                            "a\x00b",
	"DEL":                            "a\x7fb",
	"C1 control":                     "a\u0085b",
	"line separator":                 "a\u2028b",
	"paragraph separator":            "a\u2029b",
	"private use":                    "a\ue000b",
	"unassigned":                     "a\U0010fffdb",
	"leading zero-width joiner":      "\u200dClaude",
	"trailing zero-width non-joiner": "Claude\u200c",
	"joiner between spaces":          "a \u200d b",
	"lone variation selector":        "\ufe0fClaude",
	"zalgo":                          "C\u0301\u0302\u0303\u0304\u0305laude",
	"invalid UTF-8":                  "Cl\xffaude",
	"only spaces":                    "   ",
	"only ideographic spaces":        "\u3000\u3000",
	"only a no-break space":          "\u00a0",
	"leading space":                  " Claude",
	"trailing space":                 "Claude ",
	"padded with ideographic spaces": "Claude" + strings.Repeat("\u3000", 60) + "(unverified)",
	"padded with en spaces":          "Claude\u2002\u2002Code",
	"two spaces":                     "Claude  Code",
	"leading combining mark":         "\u0301Claude",
	"leading enclosing mark":         "\u20ddClaude",
	"only a combining mark":          "\u0301",
	"too long":                       strings.Repeat("n", MaxClientNameRunes+1),
}

// ordinaryDisplayTexts must pass: real client names in many scripts.
var ordinaryDisplayTexts = []string{
	"Claude Code", "Visual Studio Code", "ChatGPT", "Cursor", "MCP Inspector", "Zed", "goose", "opencode",
	"Café Ünïcödé", "日本語のクライアント", "Клиент", "عميل", "לקוח", "क्लाइंट", "ไคลเอนต์", "Tiếng Việt",
	"می‌خواهم",      // Persian with a zero-width non-joiner between letters
	"👩‍💻 Dev Tools", // an emoji ZWJ sequence
	"❤️ Fan Club",   // an emoji with a variation selector
	"Tab\u3000Ideographic space", "", "a\u00a0b", strings.Repeat("n", MaxClientNameRunes),
}

func TestCheckDisplayText(t *testing.T) {
	for name, s := range hostileDisplayTexts {
		if err := CheckDisplayText("client_name", s, MaxClientNameRunes); err == nil {
			t.Errorf("%s: %q accepted", name, s)
		} else if !strings.HasPrefix(err.Error(), "client_name ") {
			t.Errorf("%s: error %q does not name the field", name, err)
		}
	}
	for _, s := range ordinaryDisplayTexts {
		if err := CheckDisplayText("client_name", s, MaxClientNameRunes); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
}

// FuzzCheckDisplayText: whatever passes is valid UTF-8 within the bound,
// has no control, format (except a joiner between visible characters),
// separator, private-use or unassigned character, and never panics.
func FuzzCheckDisplayText(f *testing.F) {
	for _, s := range hostileDisplayTexts {
		f.Add(s)
	}
	for _, s := range ordinaryDisplayTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckDisplayText("f", s, 50) != nil {
			return
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 50 {
			t.Fatalf("%q accepted: invalid or too long", s)
		}
		runes := []rune(s)
		for i, r := range runes {
			switch {
			case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs), unicode.Is(unicode.Bidi_Control, r):
				t.Fatalf("%q accepted with %U", s, r)
			case unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d':
				t.Fatalf("%q accepted with format character %U", s, r)
			case (r == '\u200c' || r == '\u200d') && (i == 0 || i == len(runes)-1 || unicode.IsSpace(runes[i-1]) || unicode.IsSpace(runes[i+1])):
				t.Fatalf("%q accepted with a joiner at %d", s, i)
			case i > 0 && unicode.IsSpace(r) && unicode.IsSpace(runes[i-1]):
				t.Fatalf("%q accepted with white space twice in a row", s)
			}
		}
		if len(runes) > 0 && (unicode.IsSpace(runes[0]) || unicode.IsSpace(runes[len(runes)-1]) || unicode.In(runes[0], unicode.Mn, unicode.Me) ||
			!strings.ContainsFunc(s, func(r rune) bool { return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) })) {
			t.Fatalf("%q accepted: blank, padded or starting with a mark", s)
		}
	})
}
