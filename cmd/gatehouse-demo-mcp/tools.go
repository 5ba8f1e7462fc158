package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/resource"
)

// writeNoteTool is the tool that needs the extra scope (--write-scope).
const writeNoteTool = "write_note"

func addTools(s *mcp.Server, writeScope string) {
	mcp.AddTool(s, &mcp.Tool{
		Name:        "whoami",
		Description: "Who the access token says the caller is: subject, OAuth client, granted scopes, audience and expiry.",
	}, whoami)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "add",
		Description: "Adds two numbers.",
	}, add)
	n := &notes{bySubject: map[string][]string{}, scope: writeScope}
	mcp.AddTool(s, &mcp.Tool{
		Name: writeNoteTool,
		Description: "Saves a short note for the caller (kept in memory, the last " + strconv.Itoa(maxNotes) + "). " +
			"Needs the scope " + writeScope + " on top of the endpoint's: a token without it is answered with the step-up challenge.",
	}, n.write)
}

type whoamiOutput struct {
	Subject   string   `json:"sub" jsonschema:"the token's subject: a user, or the client itself for client_credentials"`
	ClientID  string   `json:"client_id" jsonschema:"the OAuth client the token was issued to"`
	Scopes    []string `json:"scopes" jsonschema:"the granted scopes"`
	Audience  []string `json:"aud" jsonschema:"the resources the token is for"`
	ExpiresAt string   `json:"exp" jsonschema:"when the token expires (RFC 3339)"`
	Email     string   `json:"email,omitempty" jsonschema:"the user's email, when the authorization server puts it in the token"`
	Name      string   `json:"name,omitempty" jsonschema:"the user's name, when the token carries it"`
}

// whoami reports the verified claims of the request calling it (never the
// token itself).
func whoami(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoamiOutput, error) {
	if req.Extra == nil {
		return nil, whoamiOutput{}, errors.New("no token information for this request")
	}
	c, ok := claimsOf(req.Extra.TokenInfo)
	if !ok {
		return nil, whoamiOutput{}, errors.New("no token information for this request")
	}
	out := whoamiOutput{Subject: c.Subject, ClientID: c.ClientID, Scopes: c.Scopes, Audience: c.Audience,
		ExpiresAt: c.ExpiresAt.UTC().Format(time.RFC3339), Email: c.Email, Name: c.Name}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	return nil, out, nil
}

type addInput struct {
	A float64 `json:"a" jsonschema:"the first addend"`
	B float64 `json:"b" jsonschema:"the second addend"`
}

type addOutput struct {
	Sum float64 `json:"sum"`
}

func add(_ context.Context, _ *mcp.CallToolRequest, in addInput) (*mcp.CallToolResult, addOutput, error) {
	sum := in.A + in.B
	if math.IsInf(sum, 0) || math.IsNaN(sum) {
		return nil, addOutput{}, fmt.Errorf("%g + %g overflows", in.A, in.B)
	}
	return nil, addOutput{Sum: sum}, nil
}

// maxNotes and maxNoteLen bound what write_note keeps per subject.
const (
	maxNotes   = 10
	maxNoteLen = 1000
)

// notes is write_note's memory.
type notes struct {
	scope     string
	mu        sync.Mutex
	bySubject map[string][]string
}

type writeNoteInput struct {
	Text string `json:"text" jsonschema:"the note (at most 1000 characters)"`
}

type writeNoteOutput struct {
	Saved int `json:"saved" jsonschema:"how many notes the caller has now"`
}

// write saves a note. The HTTP middleware already answered a token without
// the scope with the 403 step-up challenge; the check here keeps the tool
// safe even if a request reached it some other way.
func (n *notes) write(_ context.Context, req *mcp.CallToolRequest, in writeNoteInput) (*mcp.CallToolResult, writeNoteOutput, error) {
	var c *resource.Claims
	if req.Extra != nil {
		c, _ = claimsOf(req.Extra.TokenInfo)
	}
	switch {
	case c == nil:
		return nil, writeNoteOutput{}, errors.New("no token information for this request")
	case n.scope != "" && !c.HasScope(n.scope):
		return nil, writeNoteOutput{}, fmt.Errorf("the token lacks the scope %s", n.scope)
	case in.Text == "" || utf8.RuneCountInString(in.Text) > maxNoteLen:
		return nil, writeNoteOutput{}, fmt.Errorf("a note is 1 to %d characters", maxNoteLen)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	list := append(n.bySubject[c.Subject], in.Text)
	if len(list) > maxNotes {
		list = list[len(list)-maxNotes:]
	}
	n.bySubject[c.Subject] = list
	return nil, writeNoteOutput{Saved: len(list)}, nil
}
