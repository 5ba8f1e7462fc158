package cimd

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFreshness(t *testing.T) {
	cfg := DefaultConfig().Cache
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	tests := []struct {
		name    string
		headers map[string]string
		ttl     time.Duration
		stale   time.Duration
		reason  string
	}{
		{"nothing", nil, 5 * time.Minute, time.Hour, "default"},
		{"claude max-age", map[string]string{"Cache-Control": "public, max-age=300"}, 5 * time.Minute, time.Hour, "max-age=300"},
		{"opencode s-maxage wins (shared cache), capped",
			map[string]string{"Cache-Control": "public, max-age=3600, s-maxage=86400, stale-while-revalidate=86400, stale-if-error=604800"},
			24 * time.Hour, time.Hour, "s-maxage=86400"},
		{"s-maxage over max-age", map[string]string{"Cache-Control": "max-age=60, s-maxage=600"}, 10 * time.Minute, time.Hour, "s-maxage=600"},
		{"below floor", map[string]string{"Cache-Control": "max-age=5"}, 30 * time.Second, time.Hour, "raised to cimd.cache.min_ttl"},
		{"above ceiling", map[string]string{"Cache-Control": "max-age=31536000"}, 24 * time.Hour, time.Hour, "capped"},
		{"max-age zero", map[string]string{"Cache-Control": "max-age=0"}, 30 * time.Second, time.Hour, "min_ttl"},
		{"no-store", map[string]string{"Cache-Control": "no-store"}, 30 * time.Second, time.Hour, "uncacheable"},
		{"no-cache", map[string]string{"Cache-Control": "no-cache, max-age=600"}, 30 * time.Second, time.Hour, "uncacheable"},
		{"private", map[string]string{"Cache-Control": "private, max-age=600"}, 30 * time.Second, time.Hour, "uncacheable"},
		{"expires", map[string]string{"Date": date, "Expires": now.Add(2 * time.Hour).Format(http.TimeFormat)},
			2 * time.Hour, time.Hour, "Expires"},
		{"expires relative to Date (clock skew)", map[string]string{
			"Date": now.Add(-time.Hour).Format(http.TimeFormat), "Expires": now.Format(http.TimeFormat)},
			time.Hour, time.Hour, "Expires"},
		{"expires in the past", map[string]string{"Date": date, "Expires": now.Add(-time.Hour).Format(http.TimeFormat)},
			30 * time.Second, time.Hour, "min_ttl"},
		{"expires zero", map[string]string{"Date": now.Add(-time.Hour).Format(http.TimeFormat), "Expires": "0"},
			30 * time.Second, time.Hour, "invalid"},
		{"max-age beats expires", map[string]string{"Cache-Control": "max-age=600", "Expires": "0"}, 10 * time.Minute, time.Hour, "max-age"},
		{"age subtracted", map[string]string{"Cache-Control": "max-age=600", "Age": "120"}, 8 * time.Minute, time.Hour, "Age 120"},
		{"huge age", map[string]string{"Cache-Control": "max-age=600", "Age": "99999999999999"}, 30 * time.Second, time.Hour, "Age"},
		{"last-modified only is not a lifetime", map[string]string{"Last-Modified": now.Add(-240 * time.Hour).Format(http.TimeFormat)},
			5 * time.Minute, time.Hour, "default"},
		{"malformed", map[string]string{"Cache-Control": "max-age=abc"}, 5 * time.Minute, time.Hour, "malformed"},
		{"stale-if-error shortens window", map[string]string{"Cache-Control": "max-age=60, stale-if-error=600"},
			time.Minute, 10 * time.Minute, "max-age=60"},
		{"must-revalidate forbids stale", map[string]string{"Cache-Control": "max-age=60, must-revalidate"},
			time.Minute, 0, "max-age=60"},
		{"proxy-revalidate forbids stale", map[string]string{"Cache-Control": "max-age=60, proxy-revalidate"},
			time.Minute, 0, "max-age=60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			f := freshness(h, now, cfg)
			if f.TTL != tt.ttl || f.StaleIfError != tt.stale {
				t.Fatalf("freshness = %s (stale %s), %q; want %s (stale %s)", f.TTL, f.StaleIfError, f.Reason, tt.ttl, tt.stale)
			}
			if !strings.Contains(f.Reason, tt.reason) {
				t.Fatalf("reason %q does not mention %q", f.Reason, tt.reason)
			}
		})
	}
}

func FuzzFreshness(f *testing.F) {
	cfg := DefaultConfig().Cache
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	f.Add("public, max-age=300", "", "", "")
	f.Add("no-cache=\"Set-Cookie\", private", "0", "Mon, 01 Jan 2024 00:00:00 GMT", "5")
	f.Add("s-maxage=9999999999, stale-if-error=-1", "garbage", "", "-3")
	f.Fuzz(func(t *testing.T, cc, expires, date, age string) {
		h := http.Header{}
		for k, v := range map[string]string{"Cache-Control": cc, "Expires": expires, "Date": date, "Age": age} {
			if v != "" {
				h.Set(k, v)
			}
		}
		fr := freshness(h, now, cfg)
		if fr.TTL < cfg.MinTTL || fr.TTL > cfg.MaxTTL {
			t.Fatalf("TTL %s outside [%s, %s] for %v", fr.TTL, cfg.MinTTL, cfg.MaxTTL, h)
		}
		if fr.StaleIfError < 0 || fr.StaleIfError > cfg.StaleIfError {
			t.Fatalf("stale window %s outside [0, %s]", fr.StaleIfError, cfg.StaleIfError)
		}
		if fr.Reason == "" {
			t.Fatal("no reason")
		}
	})
}
