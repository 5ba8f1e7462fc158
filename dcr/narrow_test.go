package dcr

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// Issue 10 item 10: a registration narrows what a metadata document
// narrows (policy.Narrow*): unknown enumerated values and unusable
// descriptive URLs are dropped and reported, not refused; the response
// shows what is in force (RFC 7591 §3.2.1).
func TestRegistrationNarrowsLikeDocuments(t *testing.T) {
	const base = `"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"`
	for _, tc := range []struct {
		name    string
		extra   string
		check   func(ci *ClientInformation) bool
		dropped []string // fields reported as narrowed
	}{
		{"unknown application_type", `,"application_type":"desktop"`,
			func(ci *ClientInformation) bool { return ci.ApplicationType == "web" }, []string{"application_type"}},
		{"application_type in another case", `,"application_type":"Native"`,
			func(ci *ClientInformation) bool { return ci.ApplicationType == "web" }, []string{"application_type"}},
		{"native kept", `,"application_type":"native"`,
			func(ci *ClientInformation) bool { return ci.ApplicationType == "native" }, nil},
		{"javascript logo", `,"logo_uri":"javascript:alert(1)"`,
			func(ci *ClientInformation) bool { return ci.LogoURI == "" }, []string{"logo_uri"}},
		{"http logo", `,"logo_uri":"http://a.example/logo.png"`,
			func(ci *ClientInformation) bool { return ci.LogoURI == "" }, []string{"logo_uri"}},
		{"data logo", `,"logo_uri":"data:image/png;base64,iVBORw0KGgo="`,
			func(ci *ClientInformation) bool { return ci.LogoURI == "" }, []string{"logo_uri"}},
		{"https logo kept", `,"logo_uri":"https://cdn.example/logo.png?v=2"`,
			func(ci *ClientInformation) bool { return ci.LogoURI == "https://cdn.example/logo.png?v=2" }, nil},
		{"http tos and client_uri", `,"tos_uri":"http://a.example/tos","client_uri":"ftp://a.example/"`,
			func(ci *ClientInformation) bool { return ci.TOSURI == "" && ci.ClientURI == "" }, []string{"client_uri", "tos_uri"}},
		{"implicit with code", `,"grant_types":["authorization_code","implicit","password","urn:x:unknown"]`,
			func(ci *ClientInformation) bool { return slices.Equal(ci.GrantTypes, []string{"authorization_code"}) }, []string{"grant_types"}},
		{"device_code with code", `,"grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"]`,
			func(ci *ClientInformation) bool {
				return slices.Equal(ci.GrantTypes, []string{"authorization_code", "refresh_token"})
			}, []string{"grant_types"}},
		{"hybrid response types", `,"response_types":["code","code id_token","token"]`,
			func(ci *ClientInformation) bool { return slices.Equal(ci.ResponseTypes, []string{"code"}) }, []string{"response_types"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ci, err := e.svc.Register(context.Background(), []byte(`{`+base+tc.extra+`}`), "198.51.100.7", "")
			if err != nil {
				t.Fatalf("refused: %v; want the value narrowed", err)
			}
			if !tc.check(ci) {
				t.Errorf("registered metadata %+v", ci.ClientMetadata)
			}
			var fields []string
			for _, n := range ci.Narrowed {
				fields = append(fields, n.Field)
				if n.Reason == "" || !strings.Contains(n.Reason, "dropped") {
					t.Errorf("narrowing %+v does not say it was dropped", n)
				}
			}
			slices.Sort(fields)
			if !slices.Equal(fields, tc.dropped) {
				t.Errorf("reported %v, want %v", fields, tc.dropped)
			}
			// The stored client is what the response says (RFC 7592 read).
			read, err := e.svc.Read(context.Background(), ci.ClientID, ci.RegistrationAccessToken)
			if err != nil || read.ApplicationType != ci.ApplicationType || read.LogoURI != ci.LogoURI || !slices.Equal(read.GrantTypes, ci.GrantTypes) {
				t.Errorf("stored %+v, %v", read, err)
			}
		})
	}
}

// An update (RFC 7592) narrows the same way.
func TestUpdateNarrows(t *testing.T) {
	e := newEnv(t)
	ci, err := e.svc.Register(context.Background(), []byte(inspectorBody), "198.51.100.7", "")
	if err != nil {
		t.Fatal(err)
	}
	up, err := e.svc.Update(context.Background(), ci.ClientID, ci.RegistrationAccessToken, []byte(`{"client_id":"`+ci.ClientID+
		`","redirect_uris":["http://localhost:6274/oauth/callback"],"token_endpoint_auth_method":"none","application_type":"cli","logo_uri":"http://x/l.png"}`))
	if err != nil {
		t.Fatalf("update refused: %v", err)
	}
	if up.ApplicationType != "web" || up.LogoURI != "" || len(up.Narrowed) != 2 {
		t.Fatalf("update: %+v, narrowed %+v", up.ClientMetadata, up.Narrowed)
	}
}
