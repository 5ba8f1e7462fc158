package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
)

// clientRow is one line of `gatehouse clients list`.
type clientRow struct {
	ID, Kind, Name string
	Registered     time.Time
	LastActive     time.Time
	Expires        time.Time
	Grants         int
}

// collectClients gathers static clients from the configuration, registered
// clients from the store, and CIMD clients from the grants they hold.
func collectClients(ctx context.Context, cfg Config, st *boltstore.Store) ([]clientRow, error) {
	counts, err := st.ClientGrantCounts(ctx)
	if err != nil {
		return nil, err
	}
	var rows []clientRow
	static, _ := buildClients(cfg.Clients)
	for _, c := range static {
		rows = append(rows, clientRow{ID: c.ID, Kind: "static", Name: c.Metadata.ClientName, Grants: counts[c.ID]})
	}
	regs, err := st.ListClients(ctx, false)
	if err != nil {
		return nil, err
	}
	for _, c := range regs {
		rows = append(rows, clientRow{ID: c.ID, Kind: "dcr", Name: c.Metadata.ClientName, Registered: c.IssuedAt,
			LastActive: c.LastActiveAt, Expires: c.ExpiresAt, Grants: counts[c.ID]})
	}
	for id, n := range counts {
		if strings.HasPrefix(id, "https://") {
			rows = append(rows, clientRow{ID: id, Kind: "cimd", Grants: n})
		}
	}
	for i := range rows {
		if rows[i].Kind != "dcr" { // activity of other kinds shows in their grants
			rows[i].LastActive, err = lastGrantUse(ctx, st, rows[i].ID)
			if err != nil {
				return nil, err
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		return rows[i].Kind < rows[j].Kind || rows[i].Kind == rows[j].Kind && rows[i].ID < rows[j].ID
	})
	return rows, nil
}

// idleSince is when the client was last seen: its last token activity, or
// its registration if it never had any.
func (r clientRow) idleSince() time.Time {
	if r.LastActive.IsZero() {
		return r.Registered
	}
	return r.LastActive
}

func lastGrantUse(ctx context.Context, st *boltstore.Store, clientID string) (time.Time, error) {
	grants, err := st.GrantsByClient(ctx, clientID)
	var last time.Time
	for _, g := range grants {
		if g.LastUsedAt.After(last) {
			last = g.LastUsedAt
		}
	}
	return last, err
}

func newClientsCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "Inspect and remove clients (the server must be stopped)"}
	var kind, unusedSince string
	list := &cobra.Command{
		Use:   "list",
		Short: "List clients: static (config), dcr (registered), cimd (URL client IDs holding grants)",
		Args:  cobra.NoArgs,
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st *boltstore.Store, _ []string) error {
			if kind != "" && !slices.Contains([]string{"dcr", "cimd", "static"}, kind) {
				return usageError("--kind must be dcr, cimd or static")
			}
			var cutoff time.Time
			if unusedSince != "" {
				age, err := parseAge(unusedSince)
				if err != nil {
					return usageError("--unused-since: %v", err)
				}
				cutoff = time.Now().Add(-age)
			}
			rows, err := collectClients(cmd.Context(), cfg, st)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CLIENT ID\tKIND\tNAME\tGRANTS\tLAST ACTIVE\tEXPIRES")
			for _, r := range rows {
				if kind != "" && r.Kind != kind {
					continue
				}
				if !cutoff.IsZero() && !r.idleSince().Before(cutoff) {
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Kind, orDash(r.Name), r.Grants, when(r.LastActive, "never"), when(r.Expires, "-"))
			}
			return w.Flush()
		}),
	}
	list.Flags().StringVar(&kind, "kind", "", "only dcr, cimd or static clients")
	list.Flags().StringVar(&unusedSince, "unused-since", "", "only clients without token activity for this long (e.g. 30d)")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a client's registration and grants",
		Args:  cobra.ExactArgs(1),
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st *boltstore.Store, args []string) error {
			return showClient(cmd.Context(), env, cfg, st, args[0])
		}),
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a registered client, or revoke every grant of a CIMD client; tokens die with it",
		Args:  cobra.ExactArgs(1),
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st *boltstore.Store, args []string) error {
			return deleteClient(cmd.Context(), env, cfg, st, args[0])
		}),
	}
	var dryRun bool
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove registered clients past their unused or idle expiry (and, with --unused-since, older)",
		Args:  cobra.NoArgs,
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st *boltstore.Store, _ []string) error {
			return pruneClients(cmd.Context(), env, st, unusedSince, dryRun)
		}),
	}
	prune.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed without removing it")
	prune.Flags().StringVar(&unusedSince, "unused-since", "", "also remove registered clients without token activity for this long")
	cmd.AddCommand(list, show, del, prune)
	return cmd
}

func showClient(ctx context.Context, env *cliEnv, cfg Config, st *boltstore.Store, id string) error {
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
		out["kind"], out["registration"] = "dcr", c
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

func deleteClient(ctx context.Context, env *cliEnv, cfg Config, st *boltstore.Store, id string) error {
	static, _ := buildClients(cfg.Clients)
	if slices.ContainsFunc(static, func(c *oauth.Client) bool { return c.ID == id }) {
		return usageError("%s is configured in the clients: list; remove it there (its tokens stop working when the server restarts)", id)
	}
	if strings.HasPrefix(id, "https://") {
		n, err := st.RevokeClientGrants(ctx, id)
		if err != nil {
			return err
		}
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

func pruneClients(ctx context.Context, env *cliEnv, st *boltstore.Store, unusedSince string, dryRun bool) error {
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
