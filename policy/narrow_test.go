package policy

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The one narrowing rule DCR and CIMD share (issue 10 item 10).
func TestNarrowing(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		dropped  bool
	}{
		{"", "", false}, {"web", "web", false}, {"native", "native", false},
		{"Native", "", true}, {"desktop", "", true}, {"web ", "", true}, {"browser", "", true},
	} {
		got, n := NarrowApplicationType(tc.in)
		if got != tc.want || (n != nil) != tc.dropped {
			t.Errorf("NarrowApplicationType(%q) = %q, %v", tc.in, got, n)
		}
	}
	for _, tc := range []struct {
		in, want []string
		dropped  string
	}{
		{nil, nil, ""},
		{[]string{"authorization_code", "refresh_token"}, []string{"authorization_code", "refresh_token"}, ""},
		{[]string{"authorization_code", "authorization_code", "client_credentials"}, []string{"authorization_code", "client_credentials"}, ""},
		{[]string{"implicit", "authorization_code", "password", "implicit"}, []string{"authorization_code"}, "implicit, password"},
		{[]string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}, []string{"refresh_token"}, "urn:ietf:params:oauth:grant-type:device_code"},
		{[]string{"Authorization_Code"}, nil, "Authorization_Code"},
	} {
		got, n := NarrowGrantTypes(tc.in)
		if !slices.Equal(got, tc.want) || (n == nil) != (tc.dropped == "") || (n != nil && n.Value != tc.dropped) {
			t.Errorf("NarrowGrantTypes(%q) = %q, %+v", tc.in, got, n)
		}
	}
	for _, tc := range []struct {
		in, want []string
		dropped  string
	}{
		{[]string{"code"}, []string{"code"}, ""},
		{[]string{"code", "code"}, []string{"code"}, ""},
		{[]string{"token", "code", "code id_token"}, []string{"code"}, "token, code id_token"},
		{[]string{"token"}, nil, "token"},
	} {
		got, n := NarrowResponseTypes(tc.in)
		if !slices.Equal(got, tc.want) || (n == nil) != (tc.dropped == "") || (n != nil && n.Value != tc.dropped) {
			t.Errorf("NarrowResponseTypes(%q) = %q, %+v", tc.in, got, n)
		}
	}
	for _, tc := range []struct {
		in      string
		dropped bool
	}{
		{"", false}, {"https://cdn.example/logo.png?v=3", false}, {"https://beta.twitchat.fr", false},
		{"http://cdn.example/logo.png", true}, {"javascript:alert(1)", true}, {"data:image/png;base64,AAAA", true},
		{"https://cdn.example/logo.png#x", true}, {"https://user@cdn.example/l.png", true}, {"//cdn.example/l.png", true},
		{"https://cdn.example/" + strings.Repeat("a", MaxURLLength), true},
	} {
		got, n := NarrowMetadataURL("logo_uri", tc.in)
		if (n != nil) != tc.dropped || (tc.dropped && got != "") || (!tc.dropped && got != tc.in) {
			t.Errorf("NarrowMetadataURL(%q) = %q, %+v", tc.in, got, n)
		}
		if n != nil && (!strings.HasPrefix(n.Reason, "logo_uri ") || !strings.HasSuffix(n.Reason, "; dropped") || n.Spec == "") {
			t.Errorf("narrowing of %q reads %q (%s)", tc.in, n.Reason, n.Spec)
		}
	}
}

// FuzzNarrowing: what is kept is usable, anything not kept is reported,
// and reports stay bounded, valid UTF-8.
func FuzzNarrowing(f *testing.F) {
	f.Add("desktop", "https://cdn.example/l.png", "implicit", "token")
	f.Add("native", "javascript:x", "authorization_code", "code")
	f.Add("\xff\xfe"+strings.Repeat("é", 100), "http://x/", "\x00", "code id_token")
	f.Fuzz(func(t *testing.T, appType, logo, grant, rtype string) {
		for i, check := range []func() (bool, *Narrowing){
			func() (bool, *Narrowing) {
				v, n := NarrowApplicationType(appType)
				return (v == appType) == (n == nil) && (v == "" || v == "web" || v == "native"), n
			},
			func() (bool, *Narrowing) {
				v, n := NarrowMetadataURL("logo_uri", logo)
				return (v == logo) == (n == nil) && (v == "" || CheckMetadataURL("logo_uri", v) == nil), n
			},
			func() (bool, *Narrowing) {
				v, n := NarrowGrantTypes([]string{grant, "authorization_code"})
				return slices.Contains(v, "authorization_code") && (slices.Contains(v, grant) == (n == nil)), n
			},
			func() (bool, *Narrowing) {
				v, n := NarrowResponseTypes([]string{rtype})
				return slices.Equal(v, []string{"code"}) == (rtype == "code") && (n == nil) == (rtype == "code"), n
			},
		} {
			ok, n := check()
			if !ok {
				t.Fatalf("inconsistent narrowing for %q %q %q %q: %+v", appType, logo, grant, rtype, n)
			}
			if n != nil && (len(n.Value) > 84 || n.Field == "" || n.Spec == "") {
				t.Fatalf("narrowing %+v is unbounded or incomplete", n)
			}
			if in := []string{appType, logo, grant, rtype}[i]; n != nil && utf8.ValidString(in) && !utf8.ValidString(n.Value) {
				t.Fatalf("clipping broke UTF-8: %q", n.Value)
			}
		}
	})
}
