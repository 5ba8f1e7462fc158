package dcr

import (
	"context"
	"strings"
	"testing"
)

// TestSharedClientOperations is the table of what each handle of a shared
// client may do: read it; not change it (a changing update forks, an
// unchanged one answers as is); delete only its own handle.
func TestSharedClientOperations(t *testing.T) {
	ctx := context.Background()
	withID := func(id, body string) []byte {
		return []byte(strings.Replace(body, `{"redirect_uris"`, `{"client_id":"`+id+`","redirect_uris"`, 1))
	}
	changed := strings.Replace(inspectorBody, `"redirect_uris":["http://localhost:6274/oauth/callback"]`,
		`"redirect_uris":["http://localhost:6274/oauth/callback","https://attacker.example/cb"]`, 1)
	for _, tt := range []struct {
		name string
		op   func(e *env, id, rat string) (forkedID string, err error)
		// wantFork: a new client_id came back; wantGone: the caller's
		// token no longer manages the shared client.
		wantFork, wantGone bool
	}{
		{"read", func(e *env, id, rat string) (string, error) {
			info, err := e.svc.Read(ctx, id, rat)
			return info.ClientID, err
		}, false, false},
		{"unchanged update", func(e *env, id, rat string) (string, error) {
			info, err := e.svc.Update(ctx, id, rat, withID(id, inspectorBody))
			return info.ClientID, err
		}, false, false},
		{"changing update", func(e *env, id, rat string) (string, error) {
			info, err := e.svc.Update(ctx, id, rat, withID(id, changed))
			return info.ClientID, err
		}, true, true},
		{"delete", func(e *env, id, rat string) (string, error) {
			handleOnly, err := e.svc.Delete(ctx, id, rat)
			if !handleOnly {
				t.Error("a delete of a shared client removed more than the caller's handle")
			}
			return id, err
		}, false, true},
	} {
		for _, who := range []string{"first registrant", "second registrant"} {
			t.Run(tt.name+" by the "+who, func(t *testing.T) {
				e := newEnv(t)
				a, err := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "")
				if err != nil {
					t.Fatal(err)
				}
				b, err := e.svc.Register(ctx, []byte(inspectorBody), "198.51.100.7", "")
				if err != nil || b.ClientID != a.ClientID {
					t.Fatalf("not merged: %v %v", b, err)
				}
				caller, other := a, b
				if who == "second registrant" {
					caller, other = b, a
				}
				got, err := tt.op(e, a.ClientID, caller.RegistrationAccessToken)
				if err != nil {
					t.Fatal(err)
				}
				if (got != a.ClientID) != tt.wantFork {
					t.Fatalf("client_id after %s = %s (shared %s)", tt.name, got, a.ClientID)
				}
				rec, err := e.store.Client(ctx, a.ClientID)
				if err != nil || !rec.Shared || len(rec.Metadata.RedirectURIs) != 1 {
					t.Fatalf("shared client after %s = %+v, %v", tt.name, rec, err)
				}
				if _, err := e.svc.Read(ctx, a.ClientID, caller.RegistrationAccessToken); (err != nil) != tt.wantGone {
					t.Fatalf("caller's token on the shared client after %s: %v", tt.name, err)
				}
				if _, err := e.svc.Read(ctx, a.ClientID, other.RegistrationAccessToken); err != nil {
					t.Fatalf("the other registrant lost the client after %s: %v", tt.name, err)
				}
			})
		}
	}
}
