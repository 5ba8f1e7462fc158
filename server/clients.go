package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// ClientResolver finds clients. Every endpoint looks clients up through it;
// operator-configured clients, CIMD documents (https client IDs) and DCR
// registrations (opaque IDs) plug in behind it.
//
// A client that does not exist or cannot be used yields an *oauth.Error
// with code invalid_client whose description says why (it is shown on the
// authorization error page and returned by the token endpoint). Any other
// error is an internal failure.
type ClientResolver interface {
	ResolveClient(ctx context.Context, clientID string) (*oauth.Client, error)
}

// RedirectRefresher is an optional capability of a ClientResolver: when a
// requested redirect URI is not registered, it may refetch the client's
// registration once before Gatehouse refuses (CIMD decision §6.5).
type RedirectRefresher interface {
	ResolveClientForRedirect(ctx context.Context, clientID, redirectURI string) (*oauth.Client, error)
}

// ClientChain routes a client ID to the resolver that owns it: https IDs
// to CIMD, everything else to the operator's static clients and then to
// dynamic registrations. A DCR client can never shadow a CIMD client
// because DCR never issues https IDs (CIMD -02 §7.1).
type ClientChain struct {
	Static *StaticClients
	CIMD   ClientResolver // nil: CIMD disabled
	DCR    ClientResolver // nil: DCR disabled
}

// ResolveClient implements ClientResolver.
func (ch *ClientChain) ResolveClient(ctx context.Context, id string) (*oauth.Client, error) {
	if id == "" {
		return nil, oauth.InvalidClient("client_id is missing")
	}
	if strings.HasPrefix(id, "https://") {
		if ch.CIMD == nil {
			return nil, oauth.InvalidClient("this server does not accept URL client IDs (Client ID Metadata Documents are disabled)")
		}
		return ch.CIMD.ResolveClient(ctx, id)
	}
	if ch.Static != nil {
		if c, ok := ch.Static.byID[id]; ok {
			return c, nil
		}
	}
	if ch.DCR != nil {
		return ch.DCR.ResolveClient(ctx, id)
	}
	return nil, oauth.InvalidClient("unknown client %q", truncate(id, 100))
}

// ResolveClientForRedirect implements RedirectRefresher by delegating to
// the owning resolver when it can refetch.
func (ch *ClientChain) ResolveClientForRedirect(ctx context.Context, id, redirectURI string) (*oauth.Client, error) {
	if strings.HasPrefix(id, "https://") && ch.CIMD != nil {
		if rr, ok := ch.CIMD.(RedirectRefresher); ok {
			return rr.ResolveClientForRedirect(ctx, id, redirectURI)
		}
	}
	return ch.ResolveClient(ctx, id)
}

// StaticClients are the operator-configured clients, validated at start.
type StaticClients struct {
	byID map[string]*oauth.Client
}

// NewStaticClients indexes clients by ID, filling in each fingerprint.
func NewStaticClients(clients []*oauth.Client) (*StaticClients, error) {
	sc := &StaticClients{byID: map[string]*oauth.Client{}}
	for _, c := range clients {
		if _, dup := sc.byID[c.ID]; dup {
			return nil, fmt.Errorf("client %q is configured twice", c.ID)
		}
		c.Kind = oauth.ClientStatic
		if c.Fingerprint == "" {
			c.Fingerprint = oauth.Fingerprint(c.Metadata)
		}
		sc.byID[c.ID] = c
	}
	return sc, nil
}

// Len is the number of static clients.
func (sc *StaticClients) Len() int { return len(sc.byID) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
