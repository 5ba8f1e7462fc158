package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
)

// writeClientTable renders clients the same way offline and through the
// admin API.
func writeClientTable(w io.Writer, rows []server.ClientSummary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tKIND\tNAME\tPROFILE\tAPPROVAL\tGRANTS\tLAST ACTIVE\tEXPIRES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Kind, orDash(r.Name), orDash(r.Profile), orDash(r.Approval),
			r.Grants, when(r.LastActive, "never"), when(r.Expires, "-"))
	}
	return tw.Flush()
}

// listFilter parses --kind and --unused-since.
func listFilter(kind, unusedSince string, now time.Time) (time.Time, error) {
	if kind != "" && !slices.Contains([]string{"dcr", "cimd", "static"}, kind) {
		return time.Time{}, usageError("--kind must be dcr, cimd or static")
	}
	if unusedSince == "" {
		return time.Time{}, nil
	}
	age, err := parseAge(unusedSince)
	if err != nil {
		return time.Time{}, usageError("--unused-since: %v", err)
	}
	return now.Add(-age), nil
}

func newClientsCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "Inspect and remove clients (the server must be stopped)"}
	var kind, unusedSince string
	list := &cobra.Command{
		Use:   "list",
		Short: "List clients: static (config), dcr (registered), cimd (URL client IDs holding grants)",
		Args:  cobra.NoArgs,
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st store.Store, _ []string) error {
			cutoff, err := listFilter(kind, unusedSince, time.Now())
			if err != nil {
				return err
			}
			static, _ := buildClients(cfg.Clients)
			rows, err := server.ListClients(cmd.Context(), st, static, profilesOf(cfg))
			if err != nil {
				return err
			}
			return writeClientTable(env.stdout, server.FilterClients(rows, kind, cutoff))
		}),
	}
	list.Flags().StringVar(&kind, "kind", "", "only dcr, cimd or static clients")
	list.Flags().StringVar(&unusedSince, "unused-since", "", "only clients without token activity for this long (e.g. 30d)")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a client's registration and grants",
		Args:  cobra.ExactArgs(1),
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st store.Store, args []string) error {
			return showClient(cmd.Context(), env, cfg, st, args[0])
		}),
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a registered client, or revoke every grant of a CIMD client; tokens die with it",
		Args:  cobra.ExactArgs(1),
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st store.Store, args []string) error {
			return deleteClient(cmd.Context(), env, cfg, st, args[0])
		}),
	}
	var dryRun bool
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove registered clients past their unused or idle expiry (and, with --unused-since, older)",
		Args:  cobra.NoArgs,
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st store.Store, _ []string) error {
			return pruneClients(cmd.Context(), env, st, unusedSince, dryRun)
		}),
	}
	prune.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed without removing it")
	prune.Flags().StringVar(&unusedSince, "unused-since", "", "also remove registered clients without token activity for this long")
	cmd.AddCommand(list, show, del, prune)
	cmd.AddCommand(offlineApprovalCommands(env)...)
	return cmd
}

func showClient(ctx context.Context, env *cliEnv, cfg Config, st store.Store, id string) error {
	out := map[string]any{"client_id": id}
	static, _ := buildClients(cfg.Clients)
	switch idx := slices.IndexFunc(static, func(c *oauth.Client) bool { return c.ID == id }); {
	case idx >= 0:
		out["kind"], out["metadata"] = "static", static[idx].Metadata
	case strings.HasPrefix(id, "https://"):
		out["kind"] = "cimd"
	default:
		c, err := st.Client(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no client %q (registered clients that were never used expire after dcr.unused_client_ttl)", id)
		}
		if err != nil {
			return err
		}
		c.SecretHash, c.RegistrationTokenHash = mask(c.SecretHash), mask(c.RegistrationTokenHash)
		for i := range c.SharedTokenHashes {
			c.SharedTokenHashes[i] = mask(c.SharedTokenHashes[i])
		}
		out["kind"], out["registration"] = "dcr", c
	}
	pc := policy.ProfileClient{ID: id, URL: out["kind"] == "cimd", Registered: out["kind"] == "dcr"}
	if rc, ok := out["registration"].(store.RegisteredClient); ok && rc.StatementIssuer != "" {
		pc.SoftwareID = rc.Metadata.SoftwareID
	}
	out["profile"] = profilesOf(cfg).For(pc).Name
	if err := server.AddApproval(ctx, st, id, out); err != nil {
		return err
	}
	grants, err := st.GrantsByClient(ctx, id)
	if err != nil {
		return err
	}
	out["grants"] = grants
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintln(env.stdout, string(b))
	return nil
}

func deleteClient(ctx context.Context, env *cliEnv, cfg Config, st store.Store, id string) error {
	static, _ := buildClients(cfg.Clients)
	if slices.ContainsFunc(static, func(c *oauth.Client) bool { return c.ID == id }) {
		return usageError("%s is configured in the clients: list; remove it there (its tokens stop working when the server restarts)", id)
	}
	if strings.HasPrefix(id, "https://") {
		n, err := st.RevokeClientGrants(ctx, id)
		if err != nil {
			return err
		}
		announceFromCLI(ctx, st, store.Event{Kind: store.EventCachePurge, Key: id})
		fmt.Fprintf(env.stdout, "revoked %d grant(s) of %s; to keep it out, add its host to cimd.hosts.deny\n", n, id)
		return nil
	}
	if err := st.DeleteClient(ctx, id); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no registered client %q", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "deleted %s; its grants and tokens are revoked\n", id)
	return nil
}

func pruneClients(ctx context.Context, env *cliEnv, st store.Store, unusedSince string, dryRun bool) error {
	now := time.Now()
	var cutoff time.Time
	if unusedSince != "" {
		age, err := parseAge(unusedSince)
		if err != nil {
			return usageError("--unused-since: %v", err)
		}
		cutoff = now.Add(-age)
	}
	all, err := st.ListClients(ctx, true)
	if err != nil {
		return err
	}
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	n := 0
	for _, c := range all {
		last := c.LastActiveAt
		if last.IsZero() {
			last = c.IssuedAt
		}
		reason := ""
		switch {
		case !now.Before(c.ExpiresAt) && c.Used():
			reason = "idle past dcr.idle_client_ttl"
		case !now.Before(c.ExpiresAt):
			reason = "never used within dcr.unused_client_ttl"
		case !cutoff.IsZero() && last.Before(cutoff):
			reason = "no token activity since " + last.UTC().Format(time.RFC3339)
		default:
			continue
		}
		n++
		fmt.Fprintf(env.stdout, "%s %s (%s): %s\n", verb, c.ID, orDash(c.Metadata.ClientName), reason)
		if !dryRun {
			if err := st.DeleteClient(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	if !dryRun {
		if _, err := st.Sweep(ctx, now); err != nil { // expired records the listing skipped
			return err
		}
	}
	fmt.Fprintf(env.stderr, "%d client(s) %s\n", n, verb)
	return nil
}

func when(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return masked
}
