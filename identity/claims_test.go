package identity_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/identity"
)

func TestMapClaims(t *testing.T) {
	m := identity.ClaimMapping{Username: "upn", Groups: "roles"}
	id, err := identity.MapClaims([]byte(`{"sub":"s1","upn":"a@corp","roles":"admin","email":"a@corp.example","email_verified":"true","amr":["pwd","mfa"],"acr":"1"}`), m)
	if err != nil || id.Subject != "s1" || id.Username != "a@corp" || len(id.Groups) != 1 || id.Groups[0] != "admin" ||
		!id.EmailVerified || len(id.AMR) != 2 || id.ACR != "1" {
		t.Fatalf("MapClaims = %+v, %v", id, err)
	}
}

func TestMapClaimsHostile(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"not an object", `[1]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"no sub", `{"email":"x"}`, "sub is missing"},
		{"numeric sub", `{"sub":12}`, "sub is not a string"},
		{"long name", `{"sub":"s","name":"` + strings.Repeat("n", 300) + `"}`, "name is longer"},
		{"control character", `{"sub":"s","preferred_username":"a\u0000b"}`, "control"},
		{"groups of numbers", `{"sub":"s","groups":[1,2]}`, "groups is not"},
		{"too many groups", `{"sub":"s","groups":[` + strings.Repeat(`"g",`, 250) + `"g"]}`, "more than 200"},
		{"email_verified garbage", `{"sub":"s","email_verified":"yes"}`, "not a boolean"},
		{"huge", `{"sub":"` + strings.Repeat("x", 70000) + `"}`, "bytes is more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := identity.MapClaims([]byte(tt.raw), identity.ClaimMapping{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzMapClaims(f *testing.F) {
	for _, seed := range []string{
		`{"sub":"s1","email":"a@b.c","email_verified":true,"groups":["g1","g2"],"name":"N","preferred_username":"u"}`,
		`{"sub":"s","groups":"one","email_verified":"false","amr":["pwd"]}`, `{}`, `{"sub":null}`, `[]`, `"x"`,
	} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "roles")
	}
	f.Fuzz(func(t *testing.T, raw []byte, groupsClaim string) {
		id, err := identity.MapClaims(raw, identity.ClaimMapping{Groups: groupsClaim})
		if err != nil {
			return
		}
		if id.Subject == "" || len(id.Subject) > 256 || len(id.Groups) > 200 {
			t.Fatalf("accepted an identity outside the limits: %+v", id)
		}
		for _, g := range id.Groups {
			if g == "" || len(g) > 256 {
				t.Fatalf("accepted group %q", g)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	ok := identity.Config{ID: "corp", Name: "Corp", Type: "oidc", Issuer: "https://idp.example", ClientID: "c", ClientSecret: "s"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*identity.Config)
		want string
	}{
		{"upper-case id", func(c *identity.Config) { c.ID = "Corp" }, "id"},
		{"id with slash", func(c *identity.Config) { c.ID = "a/b" }, "id"},
		{"http issuer", func(c *identity.Config) { c.Issuer = "http://idp.example" }, "https"},
		{"unknown type", func(c *identity.Config) { c.Type = "saml" }, "type"},
		{"no secret", func(c *identity.Config) { c.ClientSecret = "" }, "client_secret"},
		{"org rule on oidc", func(c *identity.Config) { c.Admission.AllowedOrganizations = []string{"x"} }, "allowed_groups"},
		{"bad team", func(c *identity.Config) {
			c.Type, c.Issuer, c.Admission.AllowedTeams = "github", "", []string{"noslash"}
		}, "org/team"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
