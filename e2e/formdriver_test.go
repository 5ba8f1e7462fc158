//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// formDriver is a headless user agent for Gatehouse's pages: it follows
// redirects by itself, keeps cookies, and fills in and submits the sign-in
// and consent forms it is shown, as a person in a browser would. It uses
// only what the pages offer; nothing reaches into the server.
type formDriver struct {
	client   *http.Client
	username string
	password string
	decision string // "allow" or "deny"
	// Pages and Steps describe the last run.
	Pages []seenPage
	Steps []string
	// Stopped is the page a run ended on when it was neither a form nor
	// a redirect to the client (a refusal page), with its status.
	Stopped       string
	StoppedStatus int
}

// seenPage is a form page the driver was shown.
type seenPage struct {
	Kind string // "login" or "consent"
	URL  string
	Text string // the visible text of <main>
	HTML string
}

func newFormDriver() *formDriver {
	jar, _ := cookiejar.New(nil)
	return &formDriver{
		client: &http.Client{
			Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		username: testUser, password: testPassword, decision: "allow",
	}
}

// Run starts at authURL and returns the URL Gatehouse finally redirects to
// under redirectURI (carrying code, state and iss, or an error).
func (d *formDriver) Run(ctx context.Context, authURL, redirectURI string) (*url.URL, error) {
	d.Pages, d.Steps, d.Stopped, d.StoppedStatus = nil, nil, "", 0
	target, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	method, body := http.MethodGet, url.Values(nil)
	for range 12 {
		req, err := d.request(ctx, method, target, body)
		if err != nil {
			return nil, err
		}
		resp, err := d.client.Do(req)
		if err != nil {
			return nil, err
		}
		page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		d.Steps = append(d.Steps, fmt.Sprintf("%s %s -> %d", method, target.Path, resp.StatusCode))
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := target.Parse(resp.Header.Get("Location"))
			if err != nil {
				return nil, fmt.Errorf("bad Location %q: %v", resp.Header.Get("Location"), err)
			}
			if hasPrefixURL(loc, redirectURI) {
				return loc, nil
			}
			target, method, body = loc, http.MethodGet, nil
		case resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"):
			f, text, err := pickForm(page)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %v; page text: %s", method, target, err, text)
			}
			d.Pages = append(d.Pages, seenPage{Kind: f.kind, URL: target.String(), Text: text, HTML: string(page)})
			values := f.values
			switch f.kind {
			case "login":
				values.Set("username", d.username)
				values.Set("password", d.password)
			case "consent":
				values.Set("decision", d.decision)
			}
			action, err := target.Parse(f.action)
			if err != nil {
				return nil, err
			}
			target, method, body = action, strings.ToUpper(f.method), values
		default:
			d.StoppedStatus, d.Stopped = resp.StatusCode, string(page)
			if doc, err := html.Parse(strings.NewReader(d.Stopped)); err == nil {
				d.Stopped = visibleText(doc)
			}
			return nil, fmt.Errorf("%s %s: unexpected %s: %.600s", method, target, resp.Status, page)
		}
	}
	return nil, fmt.Errorf("no redirect to %s after 12 steps: %v", redirectURI, d.Steps)
}

func (d *formDriver) request(ctx context.Context, method string, target *url.URL, body url.Values) (*http.Request, error) {
	if method == http.MethodPost {
		req, err := http.NewRequestWithContext(ctx, method, target.String(), strings.NewReader(body.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// A browser submitting a same-origin form says so.
		req.Header.Set("Origin", target.Scheme+"://"+target.Host)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		return req, nil
	}
	return http.NewRequestWithContext(ctx, method, target.String(), nil)
}

// hasPrefixURL reports whether u is redirectURI or under it (same scheme,
// host, port and path; any query).
func hasPrefixURL(u *url.URL, redirectURI string) bool {
	r, err := url.Parse(redirectURI)
	return err == nil && u.Scheme == r.Scheme && u.Host == r.Host && u.Path == r.Path
}

// form is the one form on a Gatehouse page the driver knows how to answer.
type form struct {
	kind           string // login (has a password field) or consent (has decision buttons)
	action, method string
	values         url.Values // the hidden and prefilled fields
}

// pickForm parses the page and returns its sign-in or consent form, with
// the page's visible text.
func pickForm(page []byte) (*form, string, error) {
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		return nil, "", err
	}
	text := visibleText(doc)
	var found []*form
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "form" {
			return
		}
		f := &form{action: attr(n, "action"), method: attr(n, "method"), values: url.Values{}}
		if f.method == "" {
			f.method = http.MethodGet
		}
		walk(n, func(c *html.Node) {
			if c.Type != html.ElementNode {
				return
			}
			switch {
			case c.Data == "input" && attr(c, "type") == "password":
				f.kind = "login"
			case c.Data == "input" && attr(c, "name") != "":
				f.values.Set(attr(c, "name"), attr(c, "value"))
			case c.Data == "button" && attr(c, "name") == "decision":
				f.kind = "consent"
			}
		})
		if f.kind != "" {
			found = append(found, f)
		}
	})
	if len(found) != 1 {
		return nil, text, fmt.Errorf("want one sign-in or consent form, found %d", len(found))
	}
	return found[0], text, nil
}

func walk(n *html.Node, visit func(*html.Node)) {
	visit(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, visit)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// visibleText is the whitespace-collapsed text of the page's <main> (or
// body), without scripts and styles.
func visibleText(doc *html.Node) string {
	root := doc
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "main" && root == doc {
			root = n
		}
	})
	var b strings.Builder
	walk(root, func(n *html.Node) {
		if n.Type == html.TextNode && (n.Parent == nil || (n.Parent.Data != "script" && n.Parent.Data != "style" && n.Parent.Data != "title")) {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// savePages writes the pages the driver was shown to artifacts.
func (d *formDriver) savePages(t testing.TB) {
	for i, p := range d.Pages {
		writeArtifact(t, fmt.Sprintf("%s-page%d-%s.html", artifactName(t), i+1, p.Kind), []byte(p.HTML))
	}
}
