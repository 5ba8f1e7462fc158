package main

// A headless user agent for Gatehouse's pages: it follows redirects,
// keeps cookies, and fills in the sign-in and consent forms it is shown,
// as a person in a browser would. Nothing reaches into the server.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// browser is one person's browser: a cookie jar over the agent's transport.
type browser struct {
	a  *agent
	hc *http.Client
	// signedIn: a sign-in was acknowledged (303 with a session cookie), so
	// the session must survive a restart.
	signedIn bool
}

// signIn signs in through the login page once and gives every browser in
// others the same session cookie (one person, many windows): argon2id
// makes each sign-in deliberately expensive.
func (b *browser) signIn(ctx context.Context, others []*browser) error {
	u, _ := url.Parse(b.a.base + "/login")
	an := b.a.do(ctx, "login_form", mustRequest(http.MethodGet, u.String(), ""), b.hc)
	if an.inFlight() || an.status != http.StatusOK {
		return unexpected("login form", an)
	}
	kind, action, values, err := pageForm(an.raw)
	if err != nil || kind != "login" {
		return fmt.Errorf("login page: %v", err)
	}
	values.Set("username", userName)
	values.Set("password", userPassword)
	target, _ := u.Parse(action)
	req := mustRequest(http.MethodPost, target.String(), values.Encode())
	req.Header.Set("Origin", b.a.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	an = b.a.do(ctx, "login", req, b.hc)
	if an.inFlight() || an.status != http.StatusSeeOther {
		return unexpected("sign in", an)
	}
	b.signedIn = true
	for _, o := range others {
		o.hc.Jar.SetCookies(u, b.hc.Jar.Cookies(u))
		o.signedIn = true
	}
	return nil
}

func mustRequest(method, target, form string) *http.Request {
	req, err := http.NewRequest(method, target, strings.NewReader(form))
	if err != nil {
		panic(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

func newBrowser(a *agent) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{a: a, hc: &http.Client{Transport: a.hc.Transport, Jar: jar, Timeout: a.hc.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// authorization is what one run through /authorize showed and produced.
type authorization struct {
	code        string
	loginShown  bool // the sign-in form was shown
	consentSeen bool // the consent form was shown (and approved)
	// stage names the write in flight when the run stopped on a transport
	// error: "login", "consent" or "code" ("" when it finished).
	stage string
	last  answer // the answer that ended the run
}

// authorize runs an authorization request for client c through sign-in
// and consent (approving it) and returns the code the client receives.
func (b *browser) authorize(ctx context.Context, c *chain, challenge string) (authorization, error) {
	q := url.Values{"response_type": {"code"}, "client_id": {c.id}, "redirect_uri": {redirectURI}, "state": {"s"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "resource": {resourceURI}, "scope": {"files:read"}}
	target, _ := url.Parse(b.a.base + "/authorize?" + q.Encode())
	method, stage := http.MethodGet, "code"
	var body url.Values
	var out authorization
	for range 8 {
		var req *http.Request
		if method == http.MethodPost {
			req, _ = http.NewRequest(method, target.String(), strings.NewReader(body.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", b.a.base)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		} else {
			req, _ = http.NewRequest(method, target.String(), nil)
		}
		an := b.a.do(ctx, "authorize_"+strings.TrimPrefix(target.Path, "/"), req, b.hc)
		out.last = an
		if an.inFlight() {
			out.stage = stage
			return out, nil
		}
		switch {
		case an.status == http.StatusFound || an.status == http.StatusSeeOther:
			loc, err := target.Parse(an.header.Get("Location"))
			if err != nil {
				return out, unexpected("authorize", an)
			}
			if stage == "login" {
				b.signedIn = true
			}
			if loc.Host == "127.0.0.1" && loc.Path == "/callback" {
				if e := loc.Query().Get("error"); e != "" {
					return out, fmt.Errorf("authorize: error redirect to the client: %s", loc.RawQuery)
				}
				out.code = loc.Query().Get("code")
				if out.code == "" {
					return out, fmt.Errorf("authorize: no code in %s", loc)
				}
				return out, nil
			}
			target, method, body, stage = loc, http.MethodGet, nil, "code"
		case an.status == http.StatusOK && strings.HasPrefix(an.header.Get("Content-Type"), "text/html"):
			kind, action, values, err := pageForm(an.raw)
			if err != nil {
				return out, fmt.Errorf("authorize at %s: %v", target.Path, err)
			}
			switch kind {
			case "login":
				out.loginShown = true
				values.Set("username", userName)
				values.Set("password", userPassword)
				stage = "login"
			case "consent":
				out.consentSeen = true
				values.Set("decision", "allow")
				stage = "consent"
			}
			next, err := target.Parse(action)
			if err != nil {
				return out, err
			}
			target, method, body = next, http.MethodPost, values
		default:
			return out, unexpected("authorize "+target.Path, an)
		}
	}
	return out, fmt.Errorf("authorize: no code after 8 steps")
}

// pageForm finds the one sign-in or consent form on a page.
func pageForm(page string) (kind, action string, values url.Values, err error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", "", nil, err
	}
	found := 0
	var walk func(*html.Node, func(*html.Node))
	walk = func(n *html.Node, visit func(*html.Node)) {
		visit(n)
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, visit)
		}
	}
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "form" {
			return
		}
		k, v := "", url.Values{}
		walk(n, func(c *html.Node) {
			if c.Type != html.ElementNode {
				return
			}
			switch {
			case c.Data == "input" && attr(c, "type") == "password":
				k = "login"
			case c.Data == "input" && attr(c, "name") != "":
				v.Set(attr(c, "name"), attr(c, "value"))
			case c.Data == "button" && attr(c, "name") == "decision":
				k = "consent"
			}
		})
		if k != "" {
			found++
			kind, action, values = k, attr(n, "action"), v
		}
	})
	if found != 1 {
		return "", "", nil, fmt.Errorf("want one sign-in or consent form, found %d", found)
	}
	return kind, action, values, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
