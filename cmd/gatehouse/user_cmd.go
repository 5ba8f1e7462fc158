package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse-dev/gatehouse/server"
)

func newUserCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage end-user accounts (the server must be stopped)"}
	var addStdin, passwdStdin bool
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a user; the password is prompted for, or read from standard input with --password-stdin",
		Args:  cobra.ExactArgs(1),
		RunE: env.withAccounts(func(cmd *cobra.Command, a *server.Accounts, name string) error {
			if _, err := server.NormalizeUsername(name); err != nil {
				return usageError("%v", err)
			}
			pw, err := env.readPassword(addStdin)
			if err != nil {
				return err
			}
			u, err := a.Add(cmd.Context(), name, pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "created user %s (subject %s)\n", u.Name, u.ID)
			return nil
		}),
	}
	add.Flags().BoolVar(&addStdin, "password-stdin", false, "read the password from standard input")
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password",
		Args:  cobra.ExactArgs(1),
		RunE: env.withAccounts(func(cmd *cobra.Command, a *server.Accounts, name string) error {
			pw, err := env.readPassword(passwdStdin)
			if err != nil {
				return err
			}
			if err := a.SetPassword(cmd.Context(), name, pw); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "password of %s changed\n", strings.ToLower(name))
			return nil
		}),
	}
	passwd.Flags().BoolVar(&passwdStdin, "password-stdin", false, "read the password from standard input")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user and sign them out everywhere",
		Args:  cobra.ExactArgs(1),
		RunE: env.withAccounts(func(cmd *cobra.Command, a *server.Accounts, name string) error {
			if err := a.Delete(cmd.Context(), name); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "deleted user %s\n", strings.ToLower(name))
			return nil
		}),
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: env.withAccounts(func(cmd *cobra.Command, a *server.Accounts, _ string) error {
			users, err := a.Store.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tSUBJECT\tCREATED\tPASSWORD CHANGED")
			for _, u := range users {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Name, u.ID,
					u.CreatedAt.UTC().Format(time.RFC3339), u.UpdatedAt.UTC().Format(time.RFC3339))
			}
			return w.Flush()
		}),
	}
	cmd.AddCommand(add, list, del, passwd)
	return cmd
}

// withAccounts opens the store for a user command and closes it after.
func (env *cliEnv) withAccounts(fn func(cmd *cobra.Command, a *server.Accounts, name string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, _, err := env.loadConfig(cmd)
		if err != nil {
			return err
		}
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		a := &server.Accounts{Store: st, Hasher: server.NewPasswordHasher(server.DefaultPasswordParams), Now: time.Now}
		name := ""
		if len(args) > 0 {
			name = args[0]
		}
		return fn(cmd, a, name)
	}
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
