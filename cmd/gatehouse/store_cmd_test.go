package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

// ghEnv runs the CLI in-process with environment variables.
func ghEnv(t *testing.T, environ []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut, environ)
	return code, out.String(), errOut.String()
}

// signIn posts the login form and returns the status (303 on success).
func signIn(t *testing.T, base, user, password string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if token == nil {
		t.Fatalf("no csrf token:\n%s", page)
	}
	resp, err = client.PostForm(base+"/login", url.Values{"csrf_token": {string(token[1])}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMoveUpToPostgres is item 5 end to end: a real bbolt installation is
// copied with `store copy`, a server runs on the copy with the same
// signing key and users, and the user and client CLIs work against the
// database while that server keeps running.
func TestMoveUpToPostgres(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := gh(t, "correct horse battery\n", "user", "add", "alice", "--password-stdin", "--data-dir", dir); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := gh(t, "", "dcr", "token", "create", "--uses", "2", "--data-dir", dir); code != 0 {
		t.Fatal(errOut)
	}
	base, stop := startServe(t, dir)
	kid := activeKID(t, base)
	pgURL := pgtest.NewDatabase(t)
	// While the bbolt server runs, the copy refuses.
	if code, _, errOut := gh(t, "", "store", "copy", "--from-data-dir", dir, "--to-postgres", pgURL); code != 1 || !strings.Contains(errOut, "Stop the server") {
		t.Fatalf("copy of a running installation = %d %q", code, errOut)
	}
	stop()
	code, out, errOut := gh(t, "", "store", "copy", "--from-data-dir", dir, "--to-postgres", pgURL)
	if code != 0 || !regexp.MustCompile(`users\s+1\n`).MatchString(out) || !regexp.MustCompile(`signing_keys\s+1\n`).MatchString(out) ||
		!regexp.MustCompile(`dcr_initial_tokens\s+1\n`).MatchString(out) || !strings.Contains(errOut, "every count verified") {
		t.Fatalf("store copy = %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := gh(t, "", "store", "copy", "--from-data-dir", dir, "--to-postgres", pgURL); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("second copy = %d %q", code, errOut)
	}

	pgEnv := []string{"GATEHOUSE_STORE_BACKEND=postgres", "GATEHOUSE_STORE_POSTGRES_URL=" + pgURL}
	cfg := Defaults()
	cfg.Store.Backend, cfg.Store.Postgres.URL = "postgres", pgURL
	base, stop = startServeConfig(t, cfg)
	defer stop()
	if got := activeKID(t, base); got != kid {
		t.Fatalf("signing key after the move = %s, want %s", got, kid)
	}
	if status, body := httpGet(base + "/readyz"); status != http.StatusOK || !strings.Contains(body, `"store":"ok"`) {
		t.Fatalf("readyz on postgres = %d %s", status, body)
	}
	if status := signIn(t, base, "alice", "correct horse battery"); status != http.StatusSeeOther {
		t.Fatalf("alice signs in after the move: %d", status)
	}
	// The CLIs write to the database the running server reads.
	if code, out, errOut := ghEnv(t, pgEnv, "bob's long password\n", "user", "add", "bob", "--password-stdin"); code != 0 || !strings.Contains(out, "created user bob") {
		t.Fatalf("user add while serving = %d %q %q", code, out, errOut)
	}
	if status := signIn(t, base, "bob", "bob's long password"); status != http.StatusSeeOther {
		t.Fatalf("bob, added by the CLI, signs in on the running server: %d", status)
	}
	if code, out, _ := ghEnv(t, pgEnv, "", "user", "list"); code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Fatalf("user list = %d\n%s", code, out)
	}
	if code, out, _ := ghEnv(t, pgEnv, "", "dcr", "token", "list"); code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("dcr token list = %d\n%s", code, out)
	}
	if code, out, _ := ghEnv(t, pgEnv, "", "clients", "list"); code != 0 {
		t.Fatalf("clients list = %d\n%s", code, out)
	}
	if code, out, errOut := ghEnv(t, pgEnv, "", "store", "migrate"); code != 0 || !strings.Contains(out, "schema is current") {
		t.Fatalf("store migrate = %d %q %q", code, out, errOut)
	}
}

func TestStoreSettingsAreChecked(t *testing.T) {
	environ := []string{"GATEHOUSE_STORE_BACKEND=postgres", "GATEHOUSE_STORE_POSTGRES_URL=postgres://gh:hunter2@db.example:5432/gatehouse?sslmode=verify-full"}
	code, out, errOut := ghEnv(t, environ, "", "config", "check")
	if code != 0 || strings.Contains(out, "hunter2") || !strings.Contains(out, "postgres://gh:********@db.example:5432/gatehouse?sslmode=verify-full") ||
		!strings.Contains(out, "# from env GATEHOUSE_STORE_POSTGRES_URL") {
		t.Fatalf("config check = %d %q\n%s", code, errOut, out)
	}
	for _, tc := range []struct {
		environ []string
		want    string
	}{
		{[]string{"GATEHOUSE_STORE_BACKEND=mysql"}, `store.backend (env GATEHOUSE_STORE_BACKEND): "mysql" is not one of bbolt, postgres`},
		{[]string{"GATEHOUSE_STORE_BACKEND=postgres"}, "store.postgres.url: is required"},
		{[]string{"GATEHOUSE_STORE_BACKEND=postgres", "GATEHOUSE_STORE_POSTGRES_URL=postgres://u:hunter2@h:port/db"}, "store.postgres.url (env GATEHOUSE_STORE_POSTGRES_URL): store.postgres.url does not parse"},
		{[]string{"GATEHOUSE_STORE_BACKEND=postgres", "GATEHOUSE_STORE_POSTGRES_URL=postgres://h/db", "GATEHOUSE_STORE_POSTGRES_PASSWORD_FILE=/nonexistent/pw"}, "store.postgres.password_file"},
		{[]string{"GATEHOUSE_STORE_BACKEND=postgres", "GATEHOUSE_STORE_POSTGRES_URL=postgres://h/db", "GATEHOUSE_STORE_POSTGRES_MAX_CONNS=4", "GATEHOUSE_STORE_POSTGRES_MIN_CONNS=5"}, "store.postgres.min_conns"},
		{[]string{"GATEHOUSE_STORE_BACKEND=postgres", "GATEHOUSE_STORE_POSTGRES_URL=postgres://h/db", "GATEHOUSE_STORE_POSTGRES_CONNECT_TIMEOUT=0s"}, "store.postgres.connect_timeout"},
	} {
		code, _, errOut := ghEnv(t, tc.environ, "", "config", "check")
		if code != 2 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "hunter2") {
			t.Errorf("%v: config check = %d %q, want %q", tc.environ, code, errOut, tc.want)
		}
	}
	// The password file wins over the URL and is never printed.
	pw := writeFile(t, "pw", "from-the-file\n")
	code, out, _ = ghEnv(t, []string{"GATEHOUSE_STORE_BACKEND=postgres", "GATEHOUSE_STORE_POSTGRES_URL=postgres://gh@h/db", "GATEHOUSE_STORE_POSTGRES_PASSWORD_FILE=" + pw}, "", "config", "check")
	if code != 0 || strings.Contains(out, "from-the-file") {
		t.Fatalf("config check with a password file = %d\n%s", code, out)
	}
}
