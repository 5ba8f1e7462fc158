package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
)

// userRow is a user as the commands show it.
type userRow struct {
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"password_changed_at"`
	// Identities are the linked upstream identities, as provider/subject.
	Identities []string `json:"identities,omitempty"`
}

// userManager manages accounts either directly in the data directory or
// through a running server's admin API.
type userManager interface {
	add(ctx context.Context, name, password string) (userRow, error)
	setPassword(ctx context.Context, name, password string, revokeGrants bool) (server.SignedOut, error)
	logout(ctx context.Context, name string, revokeGrants bool) (server.SignedOut, error)
	remove(ctx context.Context, name string) error
	list(ctx context.Context) ([]userRow, error)
	link(ctx context.Context, name, provider, subject string) error
	unlink(ctx context.Context, name, provider, subject string) error
}

type localUsers struct{ a *server.Accounts }

func (l localUsers) add(ctx context.Context, name, pw string) (userRow, error) {
	u, err := l.a.Add(ctx, name, pw)
	return userRow{Name: u.Name, Subject: u.ID}, err
}
func (l localUsers) setPassword(ctx context.Context, name, pw string, revokeGrants bool) (server.SignedOut, error) {
	return l.a.SetPassword(ctx, name, pw, revokeGrants)
}
func (l localUsers) logout(ctx context.Context, name string, revokeGrants bool) (server.SignedOut, error) {
	return l.a.SignOut(ctx, name, revokeGrants)
}
func (l localUsers) remove(ctx context.Context, name string) error { return l.a.Delete(ctx, name) }
func (l localUsers) list(ctx context.Context) ([]userRow, error) {
	users, err := l.a.Store.ListUsers(ctx)
	var rows []userRow
	for _, u := range users {
		ids, ierr := identityList(ctx, l.a.Store, u.ID)
		if ierr != nil {
			return nil, ierr
		}
		rows = append(rows, userRow{u.Name, u.ID, u.CreatedAt, u.UpdatedAt, ids})
	}
	return rows, err
}
func (l localUsers) link(ctx context.Context, name, provider, subject string) error {
	_, err := l.a.Link(ctx, name, provider, subject)
	return err
}
func (l localUsers) unlink(ctx context.Context, name, provider, subject string) error {
	return l.a.Unlink(ctx, name, provider, subject)
}

type remoteUsers struct{ a *adminClient }

func (r remoteUsers) add(ctx context.Context, name, pw string) (userRow, error) {
	var out userRow
	err := r.a.call(ctx, http.MethodPost, "/users", nil, map[string]string{"name": name, "password": pw}, &out)
	return out, err
}
func (r remoteUsers) setPassword(ctx context.Context, name, pw string, revokeGrants bool) (server.SignedOut, error) {
	var out server.SignedOut
	err := r.a.call(ctx, http.MethodPut, "/users/password", nil, map[string]any{"name": name, "password": pw, "revoke_grants": revokeGrants}, &out)
	return out, err
}
func (r remoteUsers) logout(ctx context.Context, name string, revokeGrants bool) (server.SignedOut, error) {
	var out server.SignedOut
	err := r.a.call(ctx, http.MethodPost, "/users/logout", nil, map[string]any{"name": name, "revoke_grants": revokeGrants}, &out)
	return out, err
}
func (r remoteUsers) remove(ctx context.Context, name string) error {
	return r.a.call(ctx, http.MethodDelete, "/users", url.Values{"name": {name}}, nil, nil)
}
func (r remoteUsers) link(ctx context.Context, name, provider, subject string) error {
	return r.a.call(ctx, http.MethodPost, "/users/identities", nil, map[string]string{"name": name, "provider": provider, "subject": subject}, nil)
}
func (r remoteUsers) unlink(ctx context.Context, name, provider, subject string) error {
	return r.a.call(ctx, http.MethodDelete, "/users/identities", url.Values{"name": {name}, "provider": {provider}, "subject": {subject}}, nil, nil)
}
func (r remoteUsers) list(ctx context.Context) ([]userRow, error) {
	var rows []userRow
	err := r.a.call(ctx, http.MethodGet, "/users", nil, nil, &rows)
	return rows, err
}

// localOrRemoteUsers opens the data directory; when a running server holds
// it and its admin API is configured, it goes through the server instead
// (never editing a store another process has open).
func (env *cliEnv) localOrRemoteUsers(cmd *cobra.Command) (userManager, func(), error) {
	cfg, _, err := env.loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(cfg)
	if errors.Is(err, store.ErrLocked) {
		if a, aerr := newAdminClient(cfg); aerr == nil {
			fmt.Fprintln(env.stderr, "the server is running: using its admin API at", a.base)
			return remoteUsers{a}, func() {}, nil
		}
		return nil, nil, fmt.Errorf("%w\n  Or configure admin.listen and admin.token_file to manage users of a running server", err)
	}
	if err != nil {
		return nil, nil, err
	}
	a := &server.Accounts{Store: st, Hasher: server.NewPasswordHasher(server.DefaultPasswordParams), Now: time.Now}
	return localUsers{a}, func() { st.Close() }, nil
}

func (env *cliEnv) remoteUsers(cmd *cobra.Command) (userManager, func(), error) {
	a, err := env.adminClient(cmd)
	if err != nil {
		return nil, nil, err
	}
	return remoteUsers{a}, func() {}, nil
}

func newUserCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage end-user accounts (through the admin API while the server runs)"}
	addUserCommands(env, cmd, env.localOrRemoteUsers)
	return cmd
}

func newAdminUsersCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "End-user accounts of the running server"}
	addUserCommands(env, cmd, env.remoteUsers)
	return cmd
}

// addUserCommands adds add, list, delete and passwd, working on whatever
// open returns.
func addUserCommands(env *cliEnv, parent *cobra.Command, open func(*cobra.Command) (userManager, func(), error)) {
	with := func(fn func(cmd *cobra.Command, m userManager, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			m, done, err := open(cmd)
			if err != nil {
				return err
			}
			defer done()
			return fn(cmd, m, args)
		}
	}
	var addStdin, passwdStdin, passwdRevoke, logoutRevoke bool
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a user; the password is prompted for, or read from standard input with --password-stdin",
		Args:  cobra.ExactArgs(1),
		RunE: with(func(cmd *cobra.Command, m userManager, args []string) error {
			if _, err := server.NormalizeUsername(args[0]); err != nil {
				return usageError("%v", err)
			}
			pw, err := env.readPassword(addStdin)
			if err != nil {
				return err
			}
			u, err := m.add(cmd.Context(), args[0], pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "created user %s (subject %s)\n", u.Name, u.Subject)
			return nil
		}),
	}
	add.Flags().BoolVar(&addStdin, "password-stdin", false, "read the password from standard input")
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password",
		Args:  cobra.ExactArgs(1),
		RunE: with(func(cmd *cobra.Command, m userManager, args []string) error {
			pw, err := env.readPassword(passwdStdin)
			if err != nil {
				return err
			}
			out, err := m.setPassword(cmd.Context(), args[0], pw, passwdRevoke)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "password of %s changed; %s\n", strings.ToLower(args[0]), signedOutSummary(out, passwdRevoke))
			return nil
		}),
	}
	passwd.Flags().BoolVar(&passwdStdin, "password-stdin", false, "read the password from standard input")
	passwd.Flags().BoolVar(&passwdRevoke, "revoke-grants", false, "also revoke every grant the user gave: applications must be authorized again")
	logout := &cobra.Command{
		Use:   "logout NAME",
		Short: "Sign a user out everywhere: end every browser session (and with --revoke-grants every grant and its tokens)",
		Args:  cobra.ExactArgs(1),
		RunE: with(func(cmd *cobra.Command, m userManager, args []string) error {
			out, err := m.logout(cmd.Context(), args[0], logoutRevoke)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "%s signed out everywhere: %s\n", strings.ToLower(args[0]), signedOutSummary(out, logoutRevoke))
			return nil
		}),
	}
	logout.Flags().BoolVar(&logoutRevoke, "revoke-grants", false, "also revoke every grant the user gave: applications must be authorized again")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user and sign them out everywhere; their grants and tokens are revoked",
		Args:  cobra.ExactArgs(1),
		RunE: with(func(cmd *cobra.Command, m userManager, args []string) error {
			if err := m.remove(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "deleted user %s\n", strings.ToLower(args[0]))
			return nil
		}),
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: with(func(cmd *cobra.Command, m userManager, _ []string) error {
			users, err := m.list(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tSUBJECT\tCREATED\tPASSWORD CHANGED\tIDENTITIES")
			for _, u := range users {
				ids := strings.Join(u.Identities, ",")
				if ids == "" {
					ids = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Subject, u.CreatedAt.UTC().Format(time.RFC3339), u.UpdatedAt.UTC().Format(time.RFC3339), ids)
			}
			return w.Flush()
		}),
	}
	parent.AddCommand(add, list, del, passwd, logout)
	addLinkCommands(parent, with)
}

// signedOutSummary says what a password change or logout ended.
func signedOutSummary(out server.SignedOut, revokeGrants bool) string {
	msg := fmt.Sprintf("%d session(s) ended", out.Sessions)
	if revokeGrants {
		msg += fmt.Sprintf(", %d grant(s) revoked", out.Grants)
	}
	return msg
}

// readPassword reads a new password from standard input (one line) or from
// the terminal, asking twice.
func (env *cliEnv) readPassword(fromStdin bool) (string, error) {
	if fromStdin {
		r := bufio.NewReader(io.LimitReader(env.stdin, server.MaxPasswordLen+3))
		line, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if err := server.ValidatePassword(pw); err != nil {
			return "", usageError("%v", err)
		}
		return pw, nil
	}
	f, ok := env.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError("standard input is not a terminal: pass the password with --password-stdin")
	}
	fmt.Fprint(env.stderr, "New password: ")
	first, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(env.stderr)
	if err != nil {
		return "", err
	}
	if err := server.ValidatePassword(string(first)); err != nil {
		return "", usageError("%v", err)
	}
	fmt.Fprint(env.stderr, "Repeat password: ")
	second, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(env.stderr)
	if err != nil {
		return "", err
	}
	if string(first) != string(second) {
		return "", usageError("the passwords do not match")
	}
	return string(first), nil
}
