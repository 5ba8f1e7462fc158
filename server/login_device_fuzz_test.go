package server

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

var deviceTestKey = []byte("0123456789abcdef0123456789abcdef")

// TestParseDeviceCookie: the hostile cases of the trusted-device cookie.
func TestParseDeviceCookie(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	good := encodeDeviceCookie(deviceTestKey, deviceCookie{Account: "alice", ID: "abc", Expires: now.Unix() + 60})
	if d, ok := parseDeviceCookie(deviceTestKey, good, now); !ok || d.Account != "alice" || d.ID != "abc" {
		t.Fatalf("a good cookie = %+v %v", d, ok)
	}
	body, mac, _ := strings.Cut(good, ".")
	forge := func(payload string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + mac
	}
	for name, v := range map[string]string{
		"empty":              "",
		"no MAC":             body,
		"empty MAC":          body + ".",
		"MAC of zeros":       body + "." + strings.Repeat("A", len(mac)),
		"another key":        encodeDeviceCookie([]byte("another key, another installation"), deviceCookie{Account: "alice", ID: "abc", Expires: now.Unix() + 60}),
		"account swapped":    forge(`{"a":"bob","i":"abc","e":` + itoa(int(now.Unix()+60)) + `}`),
		"expiry pushed":      forge(`{"a":"alice","i":"abc","e":99999999999}`),
		"expired":            encodeDeviceCookie(deviceTestKey, deviceCookie{Account: "alice", ID: "abc", Expires: now.Unix()}),
		"no account":         encodeDeviceCookie(deviceTestKey, deviceCookie{ID: "abc", Expires: now.Unix() + 60}),
		"no ID":              encodeDeviceCookie(deviceTestKey, deviceCookie{Account: "alice", Expires: now.Unix() + 60}),
		"not base64":         "!!!." + mac,
		"padded base64":      body + "=." + mac,
		"two dots":           good + ".x",
		"oversized":          good + strings.Repeat("A", maxDeviceCookieLen),
		"JSON not an object": encodeDeviceCookie(deviceTestKey, deviceCookie{}) + "x",
	} {
		if d, ok := parseDeviceCookie(deviceTestKey, v, now); ok {
			t.Errorf("%s: accepted as %+v", name, d)
		}
	}
}

// FuzzParseDeviceCookie: no input panics, and whatever is accepted was
// MACed under the key, is unexpired and names an account and an ID.
func FuzzParseDeviceCookie(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	good := encodeDeviceCookie(deviceTestKey, deviceCookie{Account: "alice", ID: "abc", Expires: now.Unix() + 60})
	for _, seed := range []string{good, "", ".", "a.b", good + "x", strings.ToUpper(good), "e30.AAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseDeviceCookie(deviceTestKey, v, now)
		if !ok {
			return
		}
		if d.Account == "" || d.ID == "" || d.Expires <= now.Unix() || encodeDeviceCookie(deviceTestKey, d) == "" {
			t.Fatalf("accepted %q as %+v", v, d)
		}
		if _, ok := parseDeviceCookie([]byte("another key"), v, now); ok {
			t.Fatalf("%q verifies under two keys", v)
		}
	})
}
