package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
)

// writeApprovalTable renders approval records, the same way offline and
// through the admin API: the client_id host first for URL clients.
func writeApprovalTable(w io.Writer, rows []server.ApprovalView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tHOST\tKIND\tNAME\tPROFILE\tSTATE\tREASON\tSINCE\tFINGERPRINT")
	for _, r := range rows {
		since := r.RequestedAt
		if r.State != store.ApprovalPending {
			since = r.DecidedAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ClientID, orDash(r.Host), r.Kind, orDash(r.ClientName),
			orDash(r.Profile), r.State, orDash(r.Reason), when(since, "-"), shortFingerprint(r.Fingerprint))
	}
	return tw.Flush()
}

func shortFingerprint(fp string) string {
	if len(fp) > 16 {
		return fp[:16]
	}
	return orDash(fp)
}

// decisionText says what a decision did, for both CLIs.
func decisionText(v server.ApprovalView) string {
	if v.State == store.ApprovalBlocked {
		return fmt.Sprintf("blocked %s; %d grant(s) and their tokens revoked\n", v.ClientID, v.GrantsRevoked)
	}
	return fmt.Sprintf("approved %s (fingerprint %s); it may sign users in now\n", v.ClientID, shortFingerprint(v.Fingerprint))
}

// approvalCommands are pending, approve ID and block ID; pending and
// decide say whether they go through the admin API or the store.
func approvalCommands(pending func(cmd *cobra.Command, all bool) error, decide func(cmd *cobra.Command, id, state, fingerprint string) error) []*cobra.Command {
	var all bool
	list := &cobra.Command{
		Use: "pending", Short: "Clients waiting in the approval queue (--all: every approval record)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return pending(cmd, all) },
	}
	list.Flags().BoolVar(&all, "all", false, "also approved and blocked clients")
	var fingerprint string
	approve := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve a client as it is now; a change of its redirect URIs, keys or auth method puts it back in the queue",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return decide(cmd, args[0], store.ApprovalApproved, fingerprint)
		},
	}
	approve.Flags().StringVar(&fingerprint, "fingerprint", "", "approve only if the client's fingerprint still starts with this one (as listed by pending)")
	block := &cobra.Command{
		Use: "block ID", Short: "Block a client: it is refused everywhere, and its grants and tokens are revoked", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return decide(cmd, args[0], store.ApprovalBlocked, "") },
	}
	return []*cobra.Command{list, approve, block}
}

// adminApprovalCommands drive the running server's admin API.
func adminApprovalCommands(env *cliEnv) []*cobra.Command {
	return approvalCommands(
		func(cmd *cobra.Command, all bool) error {
			a, err := env.adminClient(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			if !all {
				q.Set("state", store.ApprovalPending)
			}
			var rows []server.ApprovalView
			if err := a.call(cmd.Context(), http.MethodGet, "/clients/approvals", q, nil, &rows); err != nil {
				return err
			}
			return writeApprovalTable(env.stdout, rows)
		},
		func(cmd *cobra.Command, id, state, fingerprint string) error {
			a, err := env.adminClient(cmd)
			if err != nil {
				return err
			}
			q := url.Values{"id": {id}}
			if fingerprint != "" {
				q.Set("fingerprint", fingerprint)
			}
			path := map[string]string{store.ApprovalApproved: "/clients/approve", store.ApprovalBlocked: "/clients/block"}[state]
			var v server.ApprovalView
			if err := a.call(cmd.Context(), http.MethodPost, path, q, nil, &v); err != nil {
				return err
			}
			fmt.Fprint(env.stdout, decisionText(v))
			return nil
		})
}

// offlineApprovalCommands work on the store of a stopped server.
func offlineApprovalCommands(env *cliEnv) []*cobra.Command {
	return approvalCommands(
		func(cmd *cobra.Command, all bool) error {
			return env.withStore(func(cmd *cobra.Command, _ Config, st store.Store, _ []string) error {
				state := store.ApprovalPending
				if all {
					state = ""
				}
				rows, err := server.ListApprovals(cmd.Context(), st, state)
				if err != nil {
					return err
				}
				return writeApprovalTable(env.stdout, rows)
			})(cmd, nil)
		},
		func(cmd *cobra.Command, id, state, fingerprint string) error {
			return env.withStore(func(cmd *cobra.Command, cfg Config, st store.Store, _ []string) error {
				d := store.ClientDecision{ClientID: id, State: state, At: time.Now()}
				if fingerprint != "" {
					rec, err := st.ClientApproval(cmd.Context(), id)
					if err == nil && !strings.HasPrefix(rec.Fingerprint, fingerprint) {
						return fmt.Errorf("%s changed since you looked (fingerprint %s, not %s): list it again (gatehouse clients pending --all)",
							id, shortFingerprint(rec.Fingerprint), fingerprint)
					}
					d.Fingerprint = rec.Fingerprint
				}
				v, err := server.DecideClient(cmd.Context(), st, newLogger(env.stderr, cfg.Log), d, "cli")
				switch {
				case errors.Is(err, store.ErrNotFound):
					return fmt.Errorf("%s has no approval request: it is queued on its first authorization, or the running server can pre-approve it (gatehouse admin clients approve)", id)
				case errors.Is(err, store.ErrConflict):
					return fmt.Errorf("%w\n  list it again (gatehouse clients pending --all) and approve what it is now", err)
				case err != nil:
					return err
				}
				// Running instances keep approvals in memory for at most a
				// second; the announcement makes them drop it at once.
				announceFromCLI(cmd.Context(), st, store.Event{Kind: store.EventApproval, Key: id})
				fmt.Fprint(env.stdout, decisionText(v))
				return nil
			})(cmd, nil)
		})
}
