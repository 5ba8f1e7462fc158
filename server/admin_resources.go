package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// notFound answers 404 with a reason.
func notFound(format string, args ...any) error {
	return oauth.New(oauth.ErrCodeNotFound, http.StatusNotFound, format, args...)
}

func (a *Admin) cacheRoutes(e *echo.Echo) {
	need := func(c echo.Context) (string, error) {
		u := c.QueryParam("url")
		if a.opts.CIMD == nil {
			return "", notFound("CIMD is not configured")
		}
		if u == "" {
			return "", oauth.InvalidRequest("url is required")
		}
		return u, nil
	}
	e.GET("/cache", func(c echo.Context) error {
		if a.opts.CIMD == nil {
			return c.JSON(http.StatusOK, []any{})
		}
		return c.JSON(http.StatusOK, a.opts.CIMD.Entries())
	})
	e.GET("/cache/entry", func(c echo.Context) error {
		u, err := need(c)
		if err != nil {
			return err
		}
		for _, en := range a.opts.CIMD.Entries() {
			if en.ClientID == u {
				return c.JSON(http.StatusOK, en)
			}
		}
		return notFound("%s is not cached", u)
	})
	e.DELETE("/cache/entry", func(c echo.Context) error {
		u, err := need(c)
		if err != nil {
			return err
		}
		a.opts.CIMD.Purge(u)
		a.s.announce(c.Request().Context(), store.Event{Kind: store.EventCachePurge, Key: u})
		a.action(c, "cache_purge", "client_id", u)
		return c.NoContent(http.StatusNoContent)
	})
	e.DELETE("/cache", func(c echo.Context) error {
		if a.opts.CIMD != nil {
			a.opts.CIMD.PurgeAll()
		}
		a.s.announce(c.Request().Context(), store.Event{Kind: store.EventCachePurge})
		a.action(c, "cache_purge_all")
		return c.NoContent(http.StatusNoContent)
	})
	e.POST("/cache/refresh", func(c echo.Context) error {
		u, err := need(c)
		if err != nil {
			return err
		}
		client, err := a.opts.CIMD.Refresh(c.Request().Context(), u)
		a.action(c, "cache_refresh", "client_id", u, "ok", err == nil)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"client_id": client.ID, "fingerprint": client.Fingerprint, "metadata": client.Metadata})
	})
}

func (a *Admin) clientRoutes(e *echo.Echo) {
	e.GET("/clients", func(c echo.Context) error {
		var cutoff time.Time
		if v := c.QueryParam("idle_before"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return oauth.InvalidRequest("idle_before must be an RFC 3339 time")
			}
			cutoff = t
		}
		rows, err := ListClients(c.Request().Context(), a.s.store, a.staticClients(), a.s.policy().profiles)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, FilterClients(rows, c.QueryParam("kind"), cutoff))
	})
	e.GET("/clients/info", func(c echo.Context) error {
		ctx := c.Request().Context()
		id := c.QueryParam("id")
		out := map[string]any{"client_id": id}
		switch {
		case slices.ContainsFunc(a.staticClients(), func(sc *oauth.Client) bool { return sc.ID == id }):
			out["kind"] = "static"
		case strings.HasPrefix(id, "https://"):
			out["kind"] = "cimd"
		default:
			rc, err := a.s.store.Client(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return notFound("no client %q", id)
			}
			if err != nil {
				return err
			}
			rc.SecretHash, rc.RegistrationTokenHash, rc.SharedTokenHashes = "", "", nil
			out["kind"], out["registration"] = "dcr", rc
		}
		pol := a.s.policy()
		if resolved, err := pol.clients.ResolveClient(ctx, id); err == nil {
			out["metadata"], out["fingerprint"] = resolved.Metadata, resolved.Fingerprint
			out["profile"], out["approval_fingerprint"] = pol.profileFor(resolved).Name, oauth.ApprovalFingerprint(resolved.Metadata)
		}
		if err := addApproval(ctx, a.s.store, id, out); err != nil {
			return err
		}
		grants, err := a.s.store.GrantsByClient(ctx, id)
		if err != nil {
			return err
		}
		out["grants"] = grants
		return c.JSON(http.StatusOK, out)
	})
	e.DELETE("/clients", func(c echo.Context) error {
		ctx := c.Request().Context()
		id := c.QueryParam("id")
		switch {
		case id == "":
			return oauth.InvalidRequest("id is required")
		case slices.ContainsFunc(a.staticClients(), func(sc *oauth.Client) bool { return sc.ID == id }):
			return oauth.InvalidRequest("%s is configured in the clients: list; remove it there and reload", id)
		case strings.HasPrefix(id, "https://"):
			n, err := a.s.store.RevokeClientGrants(ctx, id)
			if err != nil {
				return err
			}
			if a.opts.CIMD != nil {
				a.opts.CIMD.Purge(id)
			}
			a.s.announce(ctx, store.Event{Kind: store.EventCachePurge, Key: id})
			a.action(c, "client_grants_revoked", "client_id", id, "grants", n)
			return c.JSON(http.StatusOK, map[string]any{"client_id": id, "grants_revoked": n})
		}
		err := a.s.store.DeleteClient(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no registered client %q", id)
		}
		if err != nil {
			return err
		}
		Audit(ctx, requestLogger(c, a.s.log), AuditClientDeleted, "client_id", id, "by", "admin")
		a.action(c, "client_delete", "client_id", id)
		return c.NoContent(http.StatusNoContent)
	})
}

// userRequest is the body of user changes.
type userRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	// RevokeGrants also revokes every grant of the user (password change,
	// logout).
	RevokeGrants bool `json:"revoke_grants"`
}

func (a *Admin) userRoutes(e *echo.Echo) {
	accounts := func() *Accounts { return &Accounts{Store: a.s.store, Hasher: a.s.passwords, Now: a.s.now} }
	e.GET("/users", func(c echo.Context) error {
		users, err := a.s.store.ListUsers(c.Request().Context())
		if err != nil {
			return err
		}
		type view struct {
			Name       string    `json:"name"`
			ID         string    `json:"subject"`
			CreatedAt  time.Time `json:"created_at"`
			UpdatedAt  time.Time `json:"password_changed_at"`
			Identities []string  `json:"identities,omitempty"`
		}
		out := make([]view, 0, len(users))
		for _, u := range users {
			ids, err := identityNames(c.Request().Context(), a.s.store, u.ID)
			if err != nil {
				return err
			}
			out = append(out, view{u.Name, u.ID, u.CreatedAt, u.UpdatedAt, ids})
		}
		return c.JSON(http.StatusOK, out)
	})
	e.POST("/users", func(c echo.Context) error {
		var req userRequest
		if err := c.Bind(&req); err != nil {
			return oauth.InvalidRequest("the body must be {\"name\",\"password\"}")
		}
		u, err := accounts().Add(c.Request().Context(), req.Name, req.Password)
		if err != nil {
			return oauth.InvalidRequest("%v", err)
		}
		a.action(c, "user_add", "username", u.Name, "user_id", u.ID)
		return c.JSON(http.StatusCreated, map[string]string{"name": u.Name, "subject": u.ID})
	})
	e.PUT("/users/password", func(c echo.Context) error {
		var req userRequest
		if err := c.Bind(&req); err != nil {
			return oauth.InvalidRequest("the body must be {\"name\",\"password\",\"revoke_grants\"}")
		}
		out, err := accounts().SetPassword(c.Request().Context(), req.Name, req.Password, req.RevokeGrants)
		if err != nil {
			return oauth.InvalidRequest("%v", err)
		}
		a.action(c, "user_passwd", "username", strings.ToLower(req.Name), "sessions_ended", out.Sessions, "grants_revoked", out.Grants)
		return c.JSON(http.StatusOK, out)
	})
	// Sign out everywhere (gatehouse admin users logout NAME).
	e.POST("/users/logout", func(c echo.Context) error {
		var req userRequest
		if err := c.Bind(&req); err != nil {
			return oauth.InvalidRequest("the body must be {\"name\",\"revoke_grants\"}")
		}
		out, err := accounts().SignOut(c.Request().Context(), req.Name, req.RevokeGrants)
		if err != nil {
			return notFound("%v", err)
		}
		a.action(c, "user_logout", "username", strings.ToLower(req.Name), "sessions_ended", out.Sessions, "grants_revoked", out.Grants)
		return c.JSON(http.StatusOK, out)
	})
	e.DELETE("/users", func(c echo.Context) error {
		name := c.QueryParam("name")
		if err := accounts().Delete(c.Request().Context(), name); err != nil {
			return notFound("%v", err)
		}
		a.action(c, "user_delete", "username", strings.ToLower(name))
		return c.NoContent(http.StatusNoContent)
	})
}

func (a *Admin) grantRoutes(e *echo.Echo) {
	// grants finds the grants named by ?user=NAME or ?client=ID.
	grants := func(c echo.Context) ([]store.Grant, error) {
		ctx := c.Request().Context()
		switch user, client := c.QueryParam("user"), c.QueryParam("client"); {
		case user != "" && client == "":
			name, err := NormalizeUsername(user)
			if err != nil {
				return nil, oauth.InvalidRequest("%v", err)
			}
			u, err := a.s.store.UserByName(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				return nil, notFound("no user %q", name)
			}
			if err != nil {
				return nil, err
			}
			return a.s.store.GrantsByUser(ctx, u.ID)
		case client != "" && user == "":
			return a.s.store.GrantsByClient(ctx, client)
		}
		return nil, oauth.InvalidRequest("name exactly one of user or client")
	}
	e.GET("/grants", func(c echo.Context) error {
		list, err := grants(c)
		if err != nil {
			return err
		}
		if list == nil {
			list = []store.Grant{}
		}
		return c.JSON(http.StatusOK, list)
	})
	e.DELETE("/grants", func(c echo.Context) error {
		ctx := c.Request().Context()
		if id := c.QueryParam("id"); id != "" {
			err := a.s.store.RevokeGrant(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return notFound("no grant %q", id)
			}
			if err != nil {
				return err
			}
			a.action(c, "grant_revoke", "grant_id", id)
			return c.JSON(http.StatusOK, map[string]int{"revoked": 1})
		}
		list, err := grants(c)
		if err != nil {
			return err
		}
		n := 0
		for _, g := range list {
			if err := a.s.store.RevokeGrant(ctx, g.ID); err == nil {
				n++
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		a.action(c, "grants_revoke", "user", c.QueryParam("user"), "client", c.QueryParam("client"), "revoked", n)
		return c.JSON(http.StatusOK, map[string]int{"revoked": n})
	})
}

func (a *Admin) keyRoutes(e *echo.Echo) {
	e.GET("/keys", func(c echo.Context) error {
		keys, err := a.s.store.SigningKeys(c.Request().Context())
		if err != nil {
			return err
		}
		type view struct {
			ID           string    `json:"kid"`
			Algorithm    string    `json:"alg"`
			Active       bool      `json:"active"`
			Signing      bool      `json:"signing"`
			CreatedAt    time.Time `json:"created_at"`
			ActivatesAt  time.Time `json:"activates_at,omitzero"`
			RetiredAt    time.Time `json:"retired_at,omitzero"`
			PublishUntil time.Time `json:"publish_until,omitzero"`
		}
		out := make([]view, 0, len(keys))
		now := a.s.now()
		for _, k := range keys {
			out = append(out, view{k.ID, k.Algorithm, k.Active(), k.SignsAt(now), k.CreatedAt, k.ActivatesAt, k.RetiredAt, k.PublishUntil})
		}
		return c.JSON(http.StatusOK, out)
	})
	e.POST("/keys/rotate", func(c echo.Context) error {
		key, err := a.s.RotateSigningKey(c.Request().Context())
		if err != nil {
			return err
		}
		Audit(c.Request().Context(), requestLogger(c, a.s.log), AuditSigningKeyRotated, "kid", key.ID, "by", "admin")
		a.action(c, "keys_rotate", "kid", key.ID)
		out := map[string]any{"kid": key.ID}
		if !key.ActivatesAt.IsZero() {
			out["activates_at"] = key.ActivatesAt
		}
		return c.JSON(http.StatusOK, out)
	})
}
