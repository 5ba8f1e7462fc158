package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// adminClient talks to a running server's admin API.
type adminClient struct {
	base, token string
	hc          *http.Client
}

// errAdminOff: the configuration this command sees names no admin
// listener. Most often the command was simply not given the running
// server's configuration, so the message says that first.
var errAdminOff = errors.New("no admin API address: give this command the running server's configuration " +
	"(--config FILE or GATEHOUSE_CONFIG), or admin.listen and admin.token_file (--admin-listen, GATEHOUSE_ADMIN_TOKEN); " +
	"the server must run with admin.listen and a token too")

// adminClient builds a client from the configuration the command sees.
// Only the admin settings must be valid: an operator runs `admin reload`
// precisely to have the server judge the rest of an edited file.
func (env *cliEnv) adminClient(cmd *cobra.Command) (*adminClient, error) {
	cfg, _, problems := env.reloadConfig(cmd)
	for _, p := range problems {
		if strings.HasPrefix(p.Key, "admin.") || p.Key == "config" {
			return nil, usageError("%s", p.String())
		}
	}
	return newAdminClient(cfg)
}

func newAdminClient(cfg Config) (*adminClient, error) {
	if cfg.Admin.Listen == "" {
		return nil, errAdminOff
	}
	token, err := cfg.Admin.token()
	if err != nil {
		return nil, fmt.Errorf("admin.token_file: %w", err)
	}
	if token == "" {
		return nil, fmt.Errorf("admin.listen is %s but no admin token is set: give admin.token_file (--admin-token-file) or GATEHOUSE_ADMIN_TOKEN, the same as the server's", cfg.Admin.Listen)
	}
	return &adminClient{base: cfg.Admin.url(), token: token, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// call sends a request and decodes a JSON answer into out (when not nil).
// A refused request becomes an error carrying the server's description.
func (a *adminClient) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := a.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the admin API at %s (is gatehouse serve running with admin.listen?): %w", a.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 && !(resp.StatusCode == http.StatusUnprocessableEntity && out != nil) {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("admin API refused (%d %s): %s", resp.StatusCode, e.Error, e.Description)
		}
		return fmt.Errorf("admin API answered %s", resp.Status)
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}
