package main

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/cimd"
	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/notify"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
)

// reloadable lists the settings a reload applies while the server runs.
// Everything else (issuer, listeners, data dir, lifetimes, CIMD connection
// settings) needs a restart.
func reloadable(key string) bool {
	switch {
	case key == "resources" || key == "clients" || strings.HasPrefix(key, "resources[") || strings.HasPrefix(key, "clients["):
		return true
	case key == "client_profiles" || strings.HasPrefix(key, "client_profiles[") || strings.HasPrefix(key, "approvals."):
		return true
	case strings.HasPrefix(key, "dcr."):
		return true
	case strings.HasPrefix(key, "cimd.fetch."), key == "cimd.allow_private_addresses", key == "cimd.extra_ca_file":
		return false
	case strings.HasPrefix(key, "cimd."):
		return true
	}
	return false
}

// ReloadResult says what a reload did.
type ReloadResult struct {
	Applied bool `json:"applied"`
	// RestartNeeded names changed settings that take effect only on restart.
	RestartNeeded []string `json:"restart_needed,omitempty"`
	// Problems, when not empty, are why the configuration was refused; the
	// running policy is unchanged.
	Problems []string `json:"problems,omitempty"`
}

// reloader re-reads the configuration and swaps the reloadable policy into
// the running server: static clients, resources, DCR mode and limits, CIMD
// host lists, redirect policy and cache bounds, client profiles and the
// approval webhook. A configuration with any
// problem is refused whole.
type reloader struct {
	mu       sync.Mutex
	load     func() (Config, []Problem)
	running  Config // what the server runs with
	srv      *server.Server
	reg      *dcr.Service
	metadata *cimd.Resolver
	webhook  *notify.Webhook
	log      *slog.Logger
}

// reload applies the configuration and, when applied, tells the other
// instances sharing the store to reload theirs.
func (r *reloader) reload(trigger string) ReloadResult {
	res := r.reloadQuietly(trigger)
	if res.Applied {
		r.srv.Announce(context.Background(), store.Event{Kind: store.EventReload})
	}
	return res
}

// reloadQuietly applies the configuration without telling anyone (for a
// reload another instance announced).
func (r *reloader) reloadQuietly(trigger string) ReloadResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, problems := r.load()
	if len(problems) > 0 {
		res := ReloadResult{}
		for _, p := range problems {
			res.Problems = append(res.Problems, p.String())
		}
		server.Audit(context.Background(), r.log, server.AuditConfigReloadRefused, "trigger", trigger,
			"problems", res.Problems, "note", "reload refused: the running policy is unchanged")
		return res
	}
	cc, err := cfg.CIMD.cimdConfig()
	if err == nil {
		err = cc.Validate()
	}
	profiles := profilesOf(cfg)
	cc.Profiles = profiles
	var chain *server.ClientChain
	if err == nil {
		chain, err = clientResolver(cfg, r.reg, r.metadata)
	}
	policy := server.Policy{Clients: chain, Resources: serverConfig(cfg).Resources, Register: registerLimits(cfg),
		CIMD: cfg.CIMD.Enabled, ClientCredentials: clientCredentialsPolicy(cfg), Profiles: profiles}
	if err == nil {
		// Every part is checked before any is swapped, so a refused
		// configuration leaves all of the running policy in place.
		err = r.srv.CheckPolicy(policy)
	}
	if err != nil { // validated already: only a bug gets here
		server.Audit(context.Background(), r.log, server.AuditConfigReloadRefused, "trigger", trigger, "problems", []string{err.Error()})
		return ReloadResult{Problems: []string{err.Error()}}
	}
	res := ReloadResult{Applied: true, RestartNeeded: restartNeeded(r.running, cfg)}
	more, err := r.metadata.Reconfigure(cc) // cannot fail: cc passed Validate
	if err != nil {
		r.log.Error("reload: CIMD policy refused after validation", "err", err)
	}
	res.RestartNeeded = appendMissing(res.RestartNeeded, more...)
	r.reg.SetConfig(dcrConfig(cfg))
	if err := r.srv.SetPolicy(policy); err != nil { // cannot fail: CheckPolicy passed
		r.log.Error("reload: server policy refused after CheckPolicy", "err", err)
	}
	if r.webhook != nil {
		if wc, err := webhookConfig(cfg); err != nil {
			// Validated a moment ago: the file went away since. Keep
			// signing with the previous secret rather than send unsigned.
			r.log.Error("reload: approval webhook settings kept", "err", err)
		} else {
			r.webhook.SetConfig(wc)
		}
	}
	logProfiles(r.log, profiles)
	// The running configuration keeps the values that need a restart.
	for _, s := range settings() {
		// List entries' fields ("clients[].client_id") are indexed within
		// the entry; the list itself ("clients") is copied whole.
		if reloadable(s.Key) && !strings.Contains(s.Key, "[]") {
			reflect.ValueOf(&r.running).Elem().FieldByIndex(s.Index).Set(reflect.ValueOf(cfg).FieldByIndex(s.Index))
		}
	}
	server.Audit(context.Background(), r.log, server.AuditConfigReloaded, "trigger", trigger,
		"static_clients", len(cfg.Clients), "resources", len(cfg.Resources), "client_profiles", len(cfg.ClientProfiles), "dcr_mode", cfg.DCR.Mode,
		"cimd_enabled", cfg.CIMD.Enabled, "restart_needed", res.RestartNeeded)
	return res
}

// restartNeeded lists the non-reloadable settings that differ.
func restartNeeded(old, next Config) []string {
	var keys []string
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(next)
	for _, s := range settings() {
		if reloadable(s.Key) || strings.Contains(s.Key, "[]") {
			continue
		}
		if !reflect.DeepEqual(ov.FieldByIndex(s.Index).Interface(), nv.FieldByIndex(s.Index).Interface()) {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

func appendMissing(list []string, more ...string) []string {
	for _, m := range more {
		found := false
		for _, l := range list {
			found = found || l == m || strings.HasPrefix(l, m+".")
		}
		if !found {
			list = append(list, m)
		}
	}
	return list
}

func (r ReloadResult) String() string {
	if !r.Applied {
		return fmt.Sprintf("refused: %s", strings.Join(r.Problems, "; "))
	}
	if len(r.RestartNeeded) > 0 {
		return "applied; restart needed for " + strings.Join(r.RestartNeeded, ", ")
	}
	return "applied"
}
