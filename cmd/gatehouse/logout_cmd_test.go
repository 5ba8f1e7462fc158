package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// browser signs in to base as user and returns the signed-in client.
func browser(t *testing.T, base, user, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := browse(t, client, base+"/login")
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
	if token == nil {
		t.Fatalf("no csrf token:\n%s", page)
	}
	resp, err := client.PostForm(base+"/login", url.Values{"csrf_token": {token[1]}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", resp.StatusCode)
	}
	return client
}

func browse(t *testing.T, client *http.Client, u string) string {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestAdminUsersLogout: `gatehouse admin users logout NAME` signs a user
// out of every browser of the running server; `gatehouse user passwd`
// does so too. Both report what they ended.
func TestAdminUsersLogout(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := gh(t, "correct horse battery\n", "user", "add", "alice", "--password-stdin", "--data-dir", dir); code != 0 {
		t.Fatal(errOut)
	}
	adminAddr := freeAddr(t)
	tokenFile := writeFile(t, "admin.token", "admin-token-0123456789-abcdefghijklmnop")
	cfgFile := writeFile(t, "g.yaml", "data_dir: "+dir+"\nadmin:\n  listen: "+adminAddr+"\n  token_file: "+tokenFile+"\n")
	base, stop := startServe(t, dir, func(c *Config) { c.Admin.Listen, c.Admin.TokenFile = adminAddr, tokenFile })
	laptop := browser(t, base, "alice", "correct horse battery")
	phone := browser(t, base, "alice", "correct horse battery")
	code, out, errOut := gh(t, "", "admin", "users", "logout", "alice", "--config", cfgFile)
	if code != 0 || !strings.Contains(out, "alice signed out everywhere: 2 session(s) ended") {
		t.Fatalf("admin users logout = %d %q %q", code, out, errOut)
	}
	for _, c := range []*http.Client{laptop, phone} {
		if page := browse(t, c, base+"/login"); strings.Contains(page, "Sign out") {
			t.Fatal("a browser is still signed in after admin users logout")
		}
	}
	browser(t, base, "alice", "correct horse battery")
	code, out, errOut = gh(t, "another long password\n", "user", "passwd", "alice", "--password-stdin", "--revoke-grants", "--config", cfgFile)
	if code != 0 || !strings.Contains(out, "password of alice changed; 1 session(s) ended, 0 grant(s) revoked") {
		t.Fatalf("user passwd while running = %d %q %q", code, out, errOut)
	}
	stop()

	// Offline, on the data directory.
	st, err := boltstore.Open(dir, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := st.UserByName(context.Background(), "alice")
	now := time.Now()
	st.CreateSession(context.Background(), store.Session{ID: "s1", UserID: u.ID, AuthTime: now, ExpiresAt: now.Add(time.Hour)})
	st.Close()
	if code, out, errOut := gh(t, "", "user", "logout", "alice", "--data-dir", dir); code != 0 || !strings.Contains(out, "1 session(s) ended") {
		t.Fatalf("offline user logout = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := gh(t, "", "user", "logout", "nobody", "--data-dir", dir); code == 0 || !strings.Contains(errOut, `no user named "nobody"`) {
		t.Fatalf("logout of an unknown user = %d %q", code, errOut)
	}
}
