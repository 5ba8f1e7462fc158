package oauth

import (
	"errors"
	"net/http"
	"testing"
)

func TestErrorIsMatchesByCode(t *testing.T) {
	cause := errors.New("bbolt: database not open")
	err := InvalidGrant("code expired").WithCause(cause)
	if !errors.Is(err, InvalidGrant("")) {
		t.Error("errors.Is by code failed")
	}
	if errors.Is(err, InvalidClient("")) {
		t.Error("different codes matched")
	}
	if !errors.Is(err, cause) || Code(err) != ErrCodeInvalidGrant {
		t.Error("cause not reachable")
	}
	wrapped := errors.Join(errors.New("context"), err)
	if Code(wrapped) != ErrCodeInvalidGrant {
		t.Error("Code does not see through wrapping")
	}
}

func TestConstructorsDoNotShareState(t *testing.T) {
	a := InvalidRequest("first")
	b := a.WithCause(errors.New("x"))
	if a.Cause() != nil || b.Cause() == nil || a == b {
		t.Fatal("WithCause changed the receiver")
	}
	if InvalidRequest("x") == InvalidRequest("x") {
		t.Fatal("constructors must build fresh values")
	}
}

func TestStatusCodes(t *testing.T) {
	tests := []struct {
		err  *Error
		want int
	}{
		{InvalidRequest("x"), http.StatusBadRequest},
		{InvalidClient("x"), http.StatusUnauthorized},
		{InvalidGrant("x"), http.StatusBadRequest},
		{InvalidTarget("x"), http.StatusBadRequest},
		{InvalidToken("x"), http.StatusUnauthorized},
		{ServerError(errors.New("boom")), http.StatusInternalServerError},
		{TooManyRequests(0, "slow down"), http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		if tt.err.Status != tt.want {
			t.Errorf("%s status = %d, want %d", tt.err.Code, tt.err.Status, tt.want)
		}
	}
	if e := TooManyRequests(0, "x"); e.RetryAfter != 1 {
		t.Errorf("RetryAfter = %d, want at least 1", e.RetryAfter)
	}
	if d := ServerError(errors.New("secret detail")).Description; d == "" || d == "secret detail" {
		t.Errorf("server_error description %q must be fixed and non-empty", d)
	}
}

func TestSplitScope(t *testing.T) {
	got := SplitScope("  read  write read\tadmin ")
	if JoinScope(got) != "read write admin" {
		t.Fatalf("SplitScope = %q", got)
	}
	if SplitScope("   ") != nil {
		t.Fatal("blank scope should be nil")
	}
}

func TestFingerprint(t *testing.T) {
	base := ClientMetadata{RedirectURIs: []string{"https://a/cb"}, ClientName: "A", JWKS: []byte(`{"keys": [ {"kty":"EC"} ]}`)}
	same := base
	same.JWKS = []byte(`{"keys":[{"kty":"EC"}]}`)
	same.ClientURI = "https://elsewhere" // not security-relevant
	if Fingerprint(base) != Fingerprint(same) {
		t.Fatal("whitespace or an irrelevant field changed the fingerprint")
	}
	for name, mod := range map[string]func(*ClientMetadata){
		"redirect": func(m *ClientMetadata) { m.RedirectURIs = []string{"https://a/cb2"} },
		"name":     func(m *ClientMetadata) { m.ClientName = "B" },
		"keys":     func(m *ClientMetadata) { m.JWKS = []byte(`{"keys":[]}`) },
		"method":   func(m *ClientMetadata) { m.TokenEndpointAuthMethod = "private_key_jwt" },
		"logo":     func(m *ClientMetadata) { m.LogoURI = "https://a/logo.png" },
	} {
		m := base
		mod(&m)
		if Fingerprint(m) == Fingerprint(base) {
			t.Errorf("changing %s did not change the fingerprint", name)
		}
	}
}
