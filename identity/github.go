package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// githubProvider signs users in with GitHub's OAuth app flow and reads
// who they are from the REST API: GET /user (the numeric id is the stable
// subject; login can change), GET /user/emails (the verified primary
// address), and, when the operator restricts sign-in, GET /user/orgs and
// GET /user/teams (which need the read:org scope). GitHub issues no ID
// token, so there is no nonce; state and PKCE still bind the browser.
type githubProvider struct {
	cfg     Config
	deps    Deps
	web     string // https://github.com or the GHES base URL
	api     string // https://api.github.com or {base}/api/v3
	checkMe bool   // organizations or teams are checked
}

func newGitHub(cfg Config, deps Deps) *githubProvider {
	p := &githubProvider{cfg: cfg, deps: deps, web: strings.TrimSuffix(cfg.BaseURL, "/")}
	if p.web == "" {
		p.web = "https://github.com"
	}
	switch {
	case cfg.APIURL != "":
		p.api = strings.TrimSuffix(cfg.APIURL, "/")
	case p.web == "https://github.com":
		p.api = "https://api.github.com"
	default:
		p.api = p.web + "/api/v3" // GitHub Enterprise Server
	}
	p.checkMe = len(cfg.Admission.AllowedOrganizations)+len(cfg.Admission.AllowedTeams) > 0
	if len(p.cfg.Scopes) == 0 {
		p.cfg.Scopes = []string{"read:user", "user:email"}
		if p.checkMe {
			p.cfg.Scopes = append(p.cfg.Scopes, "read:org")
		}
	}
	return p
}

func (p *githubProvider) ID() string   { return p.cfg.ID }
func (p *githubProvider) Name() string { return p.cfg.Name }
func (p *githubProvider) Type() string { return TypeGitHub }

func (p *githubProvider) oauth2Config(redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: redirectURI, Scopes: p.cfg.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: p.web + "/login/oauth/authorize", TokenURL: p.web + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// AuthURL builds GitHub's authorization request with state and S256 PKCE.
func (p *githubProvider) AuthURL(_ context.Context, r AuthRequest) (string, error) {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(r.Verifier)}
	if r.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login", r.LoginHint))
	}
	return p.oauth2Config(r.RedirectURI).AuthCodeURL(r.State, opts...), nil
}

type githubUser struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
	Name  string `json:"name"`
}

type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

type githubOrg struct {
	Login string `json:"login"`
}

type githubTeam struct {
	Slug         string    `json:"slug"`
	Organization githubOrg `json:"organization"`
}

// Exchange redeems the code and reads the user, their verified primary
// email and, when admission needs them, their organizations and teams
// (as groups "org" and "org/team").
func (p *githubProvider) Exchange(ctx context.Context, cb Callback) (Identity, error) {
	upstream := func(reason string, err error) error {
		return &UpstreamError{Provider: p.cfg.ID, Reason: reason, Err: err}
	}
	cctx := context.WithValue(ctx, oauth2.HTTPClient, p.deps.HTTPClient)
	tok, err := p.oauth2Config(cb.RedirectURI).Exchange(cctx, cb.Code, oauth2.VerifierOption(cb.Verifier))
	if err != nil {
		return Identity{}, upstream("the authorization code was not accepted", err)
	}
	var u githubUser
	if err := p.get(ctx, tok, "/user", &u); err != nil {
		return Identity{}, upstream("GET /user failed", err)
	}
	if u.ID <= 0 {
		return Identity{}, upstream("GET /user returned no user id", nil)
	}
	id := Identity{Provider: p.cfg.ID, Subject: strconv.FormatInt(u.ID, 10)}
	if id.Username, err = checkClaimString("login", u.Login); err != nil {
		return Identity{}, upstream("GET /user", err)
	}
	if id.Name, err = checkClaimString("name", u.Name); err != nil {
		return Identity{}, upstream("GET /user", err)
	}
	var emails []githubEmail
	if err := p.get(ctx, tok, "/user/emails", &emails); err != nil {
		return Identity{}, upstream("GET /user/emails failed", err)
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			if id.Email, err = checkClaimString("email", e.Email); err != nil {
				return Identity{}, upstream("GET /user/emails", err)
			}
			id.EmailVerified = true
		}
	}
	if p.checkMe {
		if id.Groups, err = p.groups(ctx, tok); err != nil {
			return Identity{}, upstream("reading organization membership failed (does the app have read:org?)", err)
		}
	}
	return id, p.Admit(id)
}

// groups lists the user's organizations and teams.
func (p *githubProvider) groups(ctx context.Context, tok *oauth2.Token) ([]string, error) {
	var groups []string
	if len(p.cfg.Admission.AllowedOrganizations) > 0 {
		var orgs []githubOrg
		if err := p.getPages(ctx, tok, "/user/orgs", &orgs); err != nil {
			return nil, err
		}
		for _, o := range orgs {
			groups = append(groups, o.Login)
		}
	}
	if len(p.cfg.Admission.AllowedTeams) > 0 {
		var teams []githubTeam
		if err := p.getPages(ctx, tok, "/user/teams", &teams); err != nil {
			return nil, err
		}
		for _, t := range teams {
			groups = append(groups, t.Organization.Login+"/"+t.Slug)
		}
	}
	if len(groups) > maxGroups {
		groups = groups[:maxGroups]
	}
	return groups, nil
}

// maxPages bounds pagination of /user/orgs and /user/teams (100 per page).
const maxPages = 5

var nextLink = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// getPages follows Link: rel="next" (GitHub's pagination) up to maxPages,
// appending every page's items into out (a pointer to a slice).
func (p *githubProvider) getPages(ctx context.Context, tok *oauth2.Token, path string, out any) error {
	url := p.api + path + "?per_page=100"
	var all []json.RawMessage
	for range maxPages {
		var page []json.RawMessage
		hdr, err := p.fetch(ctx, tok, url, &page)
		if err != nil {
			return err
		}
		all = append(all, page...)
		m := nextLink.FindStringSubmatch(hdr.Get("Link"))
		if m == nil || !strings.HasPrefix(m[1], p.api+"/") {
			break
		}
		url = m[1]
	}
	body, _ := json.Marshal(all)
	return json.Unmarshal(body, out)
}

func (p *githubProvider) get(ctx context.Context, tok *oauth2.Token, path string, out any) error {
	_, err := p.fetch(ctx, tok, p.api+path, out)
	return err
}

// fetch calls the REST API with the documented headers
// (Accept: application/vnd.github+json, X-GitHub-Api-Version).
func (p *githubProvider) fetch(ctx context.Context, tok *oauth2.Token, url string, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := p.deps.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("unreadable JSON: %w", err)
	}
	return resp.Header, nil
}

// Admit applies the admission rules.
func (p *githubProvider) Admit(id Identity) error {
	return p.cfg.Admission.Check(p.cfg.ID, id)
}
