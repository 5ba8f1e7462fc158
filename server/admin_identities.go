package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// identityRequest is the body of POST /users/identities.
type identityRequest struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
}

// identityNames lists a user's linked identities as provider/subject.
func identityNames(ctx context.Context, st store.IdentityStore, userID string) ([]string, error) {
	ids, err := st.IdentitiesByUser(ctx, userID)
	var out []string
	for _, id := range ids {
		out = append(out, id.Provider+"/"+id.Subject)
	}
	return out, err
}

// identityRoutes lets operators link an upstream identity to a user and
// unlink it (gatehouse user link / unlink while the server runs).
func (a *Admin) identityRoutes(e *echo.Echo) {
	accounts := func() *Accounts { return &Accounts{Store: a.s.store, Hasher: a.s.passwords, Now: a.s.now} }
	e.POST("/users/identities", func(c echo.Context) error {
		var req identityRequest
		if err := c.Bind(&req); err != nil {
			return oauth.InvalidRequest("the body must be {\"name\",\"provider\",\"subject\"}")
		}
		id, err := accounts().Link(c.Request().Context(), req.Name, req.Provider, req.Subject)
		if err != nil {
			return oauth.InvalidRequest("%v", err)
		}
		a.action(c, "user_link", "user_id", id.UserID, "provider", id.Provider, "subject", id.Subject)
		return c.NoContent(http.StatusNoContent)
	})
	e.DELETE("/users/identities", func(c echo.Context) error {
		q := c.QueryParams()
		if err := accounts().Unlink(c.Request().Context(), q.Get("name"), q.Get("provider"), q.Get("subject")); err != nil {
			return notFound("%v", err)
		}
		a.action(c, "user_unlink", "username", q.Get("name"), "provider", q.Get("provider"), "subject", q.Get("subject"))
		return c.NoContent(http.StatusNoContent)
	})
}
