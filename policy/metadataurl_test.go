package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckMetadataURL(t *testing.T) {
	tests := []struct {
		raw  string
		rule string
	}{
		{"https://code.visualstudio.com/assets/branding/code-stable.png", ""}, // another host is fine
		{"https://beta.twitchat.fr", ""},                                      // no path
		{"https://chatgpt.com/", ""},
		{"https://cdn.example/logo.png?v=2", ""},
		{"https://cdn.example:8443/logo.png", ""},
		{"http://cdn.example/logo.png", RuleHTTPSScheme},
		{"javascript:alert(1)", RuleHTTPSScheme},
		{"data:image/png;base64,AAAA", RuleHTTPSScheme},
		{"file:///etc/passwd", RuleHTTPSScheme},
		{"//cdn.example/logo.png", RuleHTTPSScheme},
		{"/logo.png", RuleHTTPSScheme},
		{"HTTPS://cdn.example/logo.png", RuleHTTPSScheme},
		{"https://user:pw@cdn.example/logo.png", RuleNoUserinfo},
		{"https://cdn.example/logo.png#x", RuleNoFragment},
		{"https:///logo.png", RuleHostSyntax},
		{"https://0x7f.1/logo.png", RuleIPSpelling},
		{"https://[fe80::1%25en0]/logo.png", RuleIPSpelling},
		{"https://cdn.example/lo go.png", RuleURISyntax},
		{"", RuleURISyntax},
		{"https://cdn.example/" + strings.Repeat("a", MaxURLLength), RuleMaxLength},
	}
	for _, tt := range tests {
		err := CheckMetadataURL("logo_uri", tt.raw)
		if tt.rule == "" {
			if err != nil {
				t.Errorf("CheckMetadataURL(%q) = %v; want accepted", tt.raw, err)
			}
			continue
		}
		var re *RuleError
		if !errors.As(err, &re) || re.Rule != tt.rule {
			t.Errorf("CheckMetadataURL(%q) = %v; want rule %q", tt.raw, err, tt.rule)
			continue
		}
		if !strings.HasPrefix(re.Detail, "logo_uri ") {
			t.Errorf("detail %q does not name the field", re.Detail)
		}
	}
}

func FuzzCheckMetadataURL(f *testing.F) {
	f.Add("https://cdn.example/logo.png?v=1")
	f.Add("javascript:alert(1)")
	f.Add("https://a@b/")
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckMetadataURL("client_uri", raw)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.Rule == "" {
				t.Fatalf("not a *RuleError: %#v", err)
			}
			return
		}
		if !strings.HasPrefix(raw, "https://") || strings.ContainsAny(raw, "# ") {
			t.Fatalf("accepted %q", raw)
		}
		authority, _, _ := strings.Cut(raw[len("https://"):], "/")
		authority, _, _ = strings.Cut(authority, "?")
		if authority == "" || strings.Contains(authority, "@") {
			t.Fatalf("accepted %q without a host or with userinfo", raw)
		}
	})
}
