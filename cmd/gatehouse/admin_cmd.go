package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/server"
)

// adminRun wraps an admin subcommand: it builds the client from the
// configuration and hands it over.
func (env *cliEnv) adminRun(fn func(cmd *cobra.Command, a *adminClient, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := env.adminClient(cmd)
		if err != nil {
			return err
		}
		return fn(cmd, a, args)
	}
}

// printJSON writes v indented.
func (env *cliEnv) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, string(b))
	return nil
}

func newAdminCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Operate a running server through its admin API (admin.listen)"}
	cmd.AddCommand(&cobra.Command{
		Use: "status", Short: "Version, uptime and counts", Args: cobra.NoArgs,
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, _ []string) error {
			var st map[string]any
			if err := a.call(cmd.Context(), http.MethodGet, "/status", nil, nil, &st); err != nil {
				return err
			}
			return env.printJSON(st)
		}),
	}, &cobra.Command{
		Use: "reload", Short: "Re-read the configuration and swap the policy in (like SIGHUP)", Args: cobra.NoArgs,
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, _ []string) error {
			var res ReloadResult
			if err := a.call(cmd.Context(), http.MethodPost, "/reload", nil, nil, &res); err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, "reload", res.String())
			if !res.Applied {
				for _, p := range res.Problems {
					fmt.Fprintln(env.stdout, "  -", p)
				}
				return &exitError{code: 1, err: errRefusedSilently}
			}
			return nil
		}),
	})
	cmd.AddCommand(newAdminCacheCommand(env), newAdminClientsCommand(env), newAdminUsersCommand(env),
		newAdminGrantsCommand(env), newAdminKeysCommand(env))
	return cmd
}

func newAdminCacheCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "cache", Short: "The CIMD document cache"}
	var all bool
	purge := &cobra.Command{
		Use: "purge URL | --all", Short: "Forget a cached document (it is refetched on next use), or all of them",
		Args: cobra.MaximumNArgs(1),
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, args []string) error {
			switch {
			case all && len(args) == 0:
				if err := a.call(cmd.Context(), http.MethodDelete, "/cache", nil, nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(env.stdout, "purged every cached document")
			case !all && len(args) == 1:
				if err := a.call(cmd.Context(), http.MethodDelete, "/cache/entry", url.Values{"url": args}, nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "purged %s\n", args[0])
			default:
				return usageError("give a URL or --all")
			}
			return nil
		}),
	}
	purge.Flags().BoolVar(&all, "all", false, "purge every cached document")
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "Cached documents with their freshness", Args: cobra.NoArgs,
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, _ []string) error {
			var entries []struct {
				ClientID  string    `json:"client_id"`
				Name      string    `json:"client_name"`
				ExpiresAt time.Time `json:"expires_at"`
				Size      int64     `json:"size_bytes"`
				Reason    string    `json:"ttl_reason"`
			}
			if err := a.call(cmd.Context(), http.MethodGet, "/cache", nil, nil, &entries); err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CLIENT ID\tNAME\tFRESH UNTIL\tBYTES\tLIFETIME FROM")
			for _, e := range entries {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", e.ClientID, orDash(e.Name), when(e.ExpiresAt, "-"), e.Size, e.Reason)
			}
			return w.Flush()
		}),
	}, &cobra.Command{
		Use: "show URL", Short: "One cached document's cache entry", Args: cobra.ExactArgs(1),
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, args []string) error {
			var e map[string]any
			if err := a.call(cmd.Context(), http.MethodGet, "/cache/entry", url.Values{"url": args}, nil, &e); err != nil {
				return err
			}
			return env.printJSON(e)
		}),
	}, purge, &cobra.Command{
		Use: "refresh URL", Short: "Refetch a document now (conditionally when cached)", Args: cobra.ExactArgs(1),
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, args []string) error {
			var out map[string]any
			if err := a.call(cmd.Context(), http.MethodPost, "/cache/refresh", url.Values{"url": args}, nil, &out); err != nil {
				return err
			}
			return env.printJSON(out)
		}),
	})
	return cmd
}

func newAdminClientsCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "Clients of the running server"}
	var kind, unusedSince string
	list := &cobra.Command{
		Use: "list", Short: "List clients", Args: cobra.NoArgs,
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, _ []string) error {
			cutoff, err := listFilter(kind, unusedSince, time.Now())
			if err != nil {
				return err
			}
			q := url.Values{}
			if kind != "" {
				q.Set("kind", kind)
			}
			if !cutoff.IsZero() {
				q.Set("idle_before", cutoff.UTC().Format(time.RFC3339))
			}
			var rows []server.ClientSummary
			if err := a.call(cmd.Context(), http.MethodGet, "/clients", q, nil, &rows); err != nil {
				return err
			}
			return writeClientTable(env.stdout, rows)
		}),
	}
	list.Flags().StringVar(&kind, "kind", "", "only dcr, cimd or static clients")
	list.Flags().StringVar(&unusedSince, "unused-since", "", "only clients without token activity for this long (e.g. 30d)")
	cmd.AddCommand(list, &cobra.Command{
		Use: "show ID", Short: "A client's metadata, registration and grants", Args: cobra.ExactArgs(1),
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, args []string) error {
			var out map[string]any
			if err := a.call(cmd.Context(), http.MethodGet, "/clients/info", url.Values{"id": args}, nil, &out); err != nil {
				return err
			}
			return env.printJSON(out)
		}),
	}, &cobra.Command{
		Use: "delete ID", Short: "Delete a registered client, or revoke every grant of a CIMD client", Args: cobra.ExactArgs(1),
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, args []string) error {
			if err := a.call(cmd.Context(), http.MethodDelete, "/clients", url.Values{"id": args}, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "deleted %s; its grants and tokens are revoked\n", args[0])
			return nil
		}),
	})
	cmd.AddCommand(adminApprovalCommands(env)...)
	return cmd
}

func newAdminGrantsCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "grants", Short: "Grants (what users allowed clients to do)"}
	var user, client, grant string
	query := func() (url.Values, error) {
		q := url.Values{}
		n := 0
		for k, v := range map[string]string{"user": user, "client": client, "id": grant} {
			if v != "" {
				q.Set(k, v)
				n++
			}
		}
		if n != 1 {
			return nil, usageError("name exactly one of --user, --client or --grant")
		}
		return q, nil
	}
	list := &cobra.Command{
		Use: "list --user NAME | --client ID", Short: "List grants", Args: cobra.NoArgs,
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, _ []string) error {
			q, err := query()
			if err != nil || q.Has("id") {
				return usageError("name exactly one of --user or --client")
			}
			var grants []struct {
				ID         string    `json:"id"`
				ClientID   string    `json:"client_id"`
				UserID     string    `json:"user_id"`
				Scopes     []string  `json:"scopes"`
				Resources  []string  `json:"resources"`
				LastUsedAt time.Time `json:"last_used_at"`
				ExpiresAt  time.Time `json:"expires_at"`
			}
			if err := a.call(cmd.Context(), http.MethodGet, "/grants", q, nil, &grants); err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "GRANT\tCLIENT\tUSER\tSCOPES\tRESOURCES\tLAST USED\tEXPIRES")
			for _, g := range grants {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, g.ClientID, orDash(g.UserID), orDash(strings.Join(g.Scopes, " ")),
					strings.Join(g.Resources, " "), when(g.LastUsedAt, "-"), when(g.ExpiresAt, "-"))
			}
			return w.Flush()
		}),
	}
	revoke := &cobra.Command{
		Use: "revoke --user NAME | --client ID | --grant ID", Short: "Revoke grants and every token they issued", Args: cobra.NoArgs,
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, _ []string) error {
			q, err := query()
			if err != nil {
				return err
			}
			var out struct {
				Revoked int `json:"revoked"`
			}
			if err := a.call(cmd.Context(), http.MethodDelete, "/grants", q, nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "revoked %d grant(s)\n", out.Revoked)
			return nil
		}),
	}
	for _, c := range []*cobra.Command{list, revoke} {
		c.Flags().StringVar(&user, "user", "", "a user name")
		c.Flags().StringVar(&client, "client", "", "a client ID")
	}
	revoke.Flags().StringVar(&grant, "grant", "", "one grant ID")
	cmd.AddCommand(list, revoke)
	return cmd
}

func newAdminKeysCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Signing keys of the running server"}
	cmd.AddCommand(&cobra.Command{
		Use: "rotate", Short: "Rotate a new signing key in (on PostgreSQL: published first, signing after tokens.key_publish_ahead)", Args: cobra.NoArgs,
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, _ []string) error {
			var out struct {
				KID         string    `json:"kid"`
				ActivatesAt time.Time `json:"activates_at"`
			}
			if err := a.call(cmd.Context(), http.MethodPost, "/keys/rotate", nil, nil, &out); err != nil {
				return err
			}
			if !out.ActivatesAt.IsZero() {
				fmt.Fprintf(env.stdout, "new signing key %s is published; every instance signs with it from %s\n", out.KID, out.ActivatesAt.UTC().Format(time.RFC3339))
				return nil
			}
			fmt.Fprintf(env.stdout, "new signing key %s is active\n", out.KID)
			return nil
		}),
	}, &cobra.Command{
		Use: "list", Short: "Signing keys and how long retired ones stay published", Args: cobra.NoArgs,
		RunE: env.adminRun(func(cmd *cobra.Command, a *adminClient, _ []string) error {
			var keys []map[string]any
			if err := a.call(cmd.Context(), http.MethodGet, "/keys", nil, nil, &keys); err != nil {
				return err
			}
			return env.printJSON(keys)
		}),
	})
	return cmd
}
