package policy

import (
	"strings"
	"time"
)

// ProfileEffect is one line of what a profile does to a client, for
// `gatehouse cimd check` and the client lists.
type ProfileEffect struct {
	Setting string
	Value   string
}

// Effects describes what p does to client c, every setting with where its
// value comes from, under the defaults d.
func (p *Profile) Effects(c ProfileClient, d ProfileDefaults) []ProfileEffect {
	var out []ProfileEffect
	add := func(setting, value string) { out = append(out, ProfileEffect{setting, value}) }
	if p.NeedsApproval() {
		add("approval", "admin: the client waits in the approval queue until an administrator approves it")
	} else {
		add("approval", "none")
	}
	switch p.ConsentMode() {
	case ConsentSkip:
		add("consent", "skip: no consent page; the user is never asked")
	case ConsentAlways:
		add("consent", "always: asked on every authorization")
	default:
		add("consent", "remember: asked once, again when the request wants more or the client's metadata changes")
	}
	if c.URL {
		if p.RedirectPolicy != "" {
			add("redirect_policy", string(p.RedirectPolicy)+" (this profile)")
		} else {
			add("redirect_policy", string(d.RedirectPolicy)+" (cimd.redirect_policy)")
		}
	}
	ceil := p.Ceilings
	if ceil.Scopes != nil {
		add("scopes", "at most "+strings.Join(ceil.Scopes, " ")+" (others are dropped)")
	} else {
		add("scopes", "no ceiling")
	}
	if ceil.Resources != nil {
		add("resources", "only "+strings.Join(ceil.Resources, " "))
	} else {
		add("resources", "no ceiling")
	}
	add("access_token_ttl", ttlEffect(ceil.AccessTTL(d.AccessTokenTTL), ceil.AccessTokenTTL, "tokens.access_token_ttl"))
	if ceil.RefreshAllowed() {
		add("refresh_tokens", "issued; grants last at most "+ttlEffect(ceil.GrantTTL(d.RefreshTokenMaxTTL), ceil.RefreshTokenMaxTTL, "tokens.refresh_token_max_ttl"))
	} else {
		add("refresh_tokens", "none (refresh_tokens: false)")
	}
	cc := "refused"
	if p.AllowsClientCredentials(c, d) {
		cc = "allowed"
	}
	switch {
	case ceil.AllowClientCredentials != nil:
		cc += " (this profile)"
	case c.URL:
		cc += " (cimd.allow_client_credentials)"
	case c.Registered:
		cc += " (dcr.allow_client_credentials)"
	default:
		cc += " (static clients may when their grant_types list it)"
	}
	add("client_credentials", cc)
	return out
}

func ttlEffect(effective, ceiling time.Duration, key string) string {
	if effective <= 0 {
		return "the server's " + key
	}
	if ceiling > 0 && ceiling == effective {
		return effective.String() + " (this profile)"
	}
	return effective.String() + " (" + key + ")"
}
