package server

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// ClientSummary is one client as operators list them.
type ClientSummary struct {
	ID         string    `json:"client_id"`
	Kind       string    `json:"kind"` // static, dcr or cimd
	Name       string    `json:"client_name,omitempty"`
	Grants     int       `json:"grants"`
	Registered time.Time `json:"registered_at,omitzero"`
	LastActive time.Time `json:"last_active_at,omitzero"`
	Expires    time.Time `json:"expires_at,omitzero"`
	// Profile is the client profile that applies to the client now.
	Profile string `json:"profile,omitempty"`
	// Approval is the client's approval state (pending, approved,
	// blocked), "" without a record.
	Approval string `json:"approval,omitempty"`
}

// IdleSince is when the client was last seen: its last token activity,
// or its registration if it never had any.
func (c ClientSummary) IdleSince() time.Time {
	if c.LastActive.IsZero() {
		return c.Registered
	}
	return c.LastActive
}

// ClientStoreReader is what listing clients reads.
type ClientStoreReader interface {
	ClientGrantCounts(ctx context.Context) (map[string]int, error)
	ListClients(ctx context.Context, includeExpired bool) ([]store.RegisteredClient, error)
	GrantsByClient(ctx context.Context, clientID string) ([]store.Grant, error)
	ClientApprovals(ctx context.Context) ([]store.ClientApproval, error)
}

// ListClients gathers every client an operator can see: static clients
// from the configuration, registered clients from the store, and CIMD
// clients (which live only in the cache) from the grants they hold.
// Activity of static and CIMD clients is the last use of their grants.
//
// Each row names the client profile that applies under profiles (nil:
// the default for all) and the client's approval state; CIMD clients that
// have an approval record but no grant (pending ones) are listed too.
func ListClients(ctx context.Context, st ClientStoreReader, static []*oauth.Client, profiles *policy.Profiles) ([]ClientSummary, error) {
	counts, err := st.ClientGrantCounts(ctx)
	if err != nil {
		return nil, err
	}
	approvals, err := st.ClientApprovals(ctx)
	if err != nil {
		return nil, err
	}
	state := map[string]string{}
	for _, a := range approvals {
		state[a.ClientID] = a.State
	}
	var rows []ClientSummary
	for _, c := range static {
		rows = append(rows, ClientSummary{ID: c.ID, Kind: string(oauth.ClientStatic), Name: c.Metadata.ClientName, Grants: counts[c.ID],
			Profile: profiles.For(policy.ProfileClient{ID: c.ID}).Name})
	}
	regs, err := st.ListClients(ctx, false)
	if err != nil {
		return nil, err
	}
	for _, c := range regs {
		pc := policy.ProfileClient{ID: c.ID, Registered: true}
		if c.StatementIssuer != "" {
			pc.SoftwareID = c.Metadata.SoftwareID
		}
		rows = append(rows, ClientSummary{ID: c.ID, Kind: string(oauth.ClientDCR), Name: c.Metadata.ClientName, Grants: counts[c.ID],
			Registered: c.IssuedAt, LastActive: c.LastActiveAt, Expires: c.ExpiresAt, Profile: profiles.For(pc).Name})
	}
	cimdRows := map[string]bool{}
	for id, n := range counts {
		if strings.HasPrefix(id, "https://") {
			rows = append(rows, ClientSummary{ID: id, Kind: string(oauth.ClientCIMD), Grants: n, Profile: profiles.ForURL(id).Name})
			cimdRows[id] = true
		}
	}
	for _, a := range approvals {
		if strings.HasPrefix(a.ClientID, "https://") && !cimdRows[a.ClientID] {
			rows = append(rows, ClientSummary{ID: a.ClientID, Kind: string(oauth.ClientCIMD), Name: a.ClientName, Profile: profiles.ForURL(a.ClientID).Name})
		}
	}
	for i := range rows {
		rows[i].Approval = state[rows[i].ID]
	}
	for i := range rows {
		if rows[i].Kind == string(oauth.ClientDCR) {
			continue
		}
		grants, err := st.GrantsByClient(ctx, rows[i].ID)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if g.LastUsedAt.After(rows[i].LastActive) {
				rows[i].LastActive = g.LastUsedAt
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		return rows[i].Kind < rows[j].Kind || rows[i].Kind == rows[j].Kind && rows[i].ID < rows[j].ID
	})
	return rows, nil
}

// FilterClients keeps the clients of one kind (all when kind is "") idle
// since before cutoff (all when cutoff is zero).
func FilterClients(rows []ClientSummary, kind string, cutoff time.Time) []ClientSummary {
	var out []ClientSummary
	for _, r := range rows {
		if (kind == "" || r.Kind == kind) && (cutoff.IsZero() || r.IdleSince().Before(cutoff)) {
			out = append(out, r)
		}
	}
	return out
}

// List returns the static clients in ID order.
func (sc *StaticClients) List() []*oauth.Client {
	if sc == nil {
		return nil
	}
	out := make([]*oauth.Client, 0, len(sc.byID))
	for _, c := range sc.byID {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
