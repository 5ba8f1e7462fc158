package pgstore

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://gh:s3cret@db.example:5432/gatehouse?sslmode=verify-full", "postgres://gh:" + Masked + "@db.example:5432/gatehouse?sslmode=verify-full"},
		{"postgresql://gh@db/gatehouse", "postgresql://gh@db/gatehouse"},
		{"postgres://db/gatehouse?password=s3cret&user=gh", "postgres://db/gatehouse?password=" + Masked + "&user=gh"},
		{"postgres://gh:p@ss/w@rd@db/x", "postgres://gh:" + Masked + "@db/x"},
		{`cannot parse "postgres://gh:pw@h:x/db": bad port`, `cannot parse "postgres://gh:` + Masked + `@h:x/db": bad port`},
		{"host=db user=gh password=s3cret dbname=gatehouse", "host=db user=gh password=" + Masked + " dbname=gatehouse"},
		{"host=db password='s3 cret' dbname=x", "host=db password=" + Masked + " dbname=x"},
		{"host=db PASSWORD = s3cret", "host=db PASSWORD = " + Masked},
		{"host=/run/postgresql dbname=gatehouse", "host=/run/postgresql dbname=gatehouse"},
		{"", ""},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzRedactURL: whatever the input, a password given in a recognisable
// form never survives redaction.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"postgres://u:pw@h/db", "password=pw", "postgres://h/db?password=pw", "host=h password='p w'", "postgres://u:p%40w@h/d"} {
		f.Add(s, "pw")
	}
	f.Fuzz(func(t *testing.T, prefix, secret string) {
		if len(secret) < 4 || strings.ContainsAny(secret, " \t\n'\\&@=\r\v\f") || strings.ContainsAny(prefix, " \t\n\r\v\f") {
			return
		}
		// The secret goes only where each template puts a password (the
		// prefix may itself contain "%s").
		for _, tmpl := range [][2]string{
			{"postgres://user:", "@host/db" + prefix},
			{"host=h " + prefix + " password=", ""},
			{"postgres://host/db?x=" + prefix + "&password=", ""},
		} {
			if strings.Contains(tmpl[0]+tmpl[1]+Masked, secret) {
				continue // the secret is part of the text around it
			}
			in := tmpl[0] + secret + tmpl[1]
			if out := RedactURL(in); strings.Contains(out, secret) {
				t.Fatalf("RedactURL(%q) = %q still holds the password", in, out)
			}
		}
	})
}
