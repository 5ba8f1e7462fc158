package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func addTools(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{
		Name:        "whoami",
		Description: "Who the access token says the caller is: subject, OAuth client, granted scopes, audience and expiry.",
	}, whoami)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "add",
		Description: "Adds two numbers.",
	}, add)
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
