package server

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// Policy is the part of the configuration an operator can change while
// the server runs (SIGHUP, `gatehouse admin reload`): which clients
// exist, which resources tokens may be issued for, the registration
// limits, and whether URL client IDs are accepted. Everything else
// (issuer, listeners, lifetimes) needs a restart.
type Policy struct {
	Clients   ClientResolver
	Resources []Resource
	Register  RegisterLimits
	CIMD      bool
	// ClientCredentials says which self-registered clients may use the
	// client_credentials grant.
	ClientCredentials ClientCredentialsPolicy
}

// ClientCredentialsPolicy opens the client_credentials grant to clients
// that registered themselves. Operator-configured (static) clients may
// always use it when their grant_types list it. Off by default for DCR
// and CIMD clients: anyone can register one, and the grant issues tokens
// with no user in the loop for every configured resource.
type ClientCredentialsPolicy struct {
	DCR  bool // dcr.allow_client_credentials
	CIMD bool // cimd.allow_client_credentials
}

// allows reports whether a client of this kind may use the grant.
func (p ClientCredentialsPolicy) allows(kind oauth.ClientKind) bool {
	switch kind {
	case oauth.ClientStatic:
		return true
	case oauth.ClientDCR:
		return p.DCR
	case oauth.ClientCIMD:
		return p.CIMD
	}
	return false
}

// policyState is a validated Policy with what is derived from it. It is
// immutable: a reload builds a new one and swaps the pointer, so a request
// sees either the old policy or the new one, never a mix.
type policyState struct {
	clients           ClientResolver
	resources         *Resources
	register          RegisterLimits
	cimd              bool
	clientCredentials ClientCredentialsPolicy
	metadata          *metadataDoc
}

// policy is the policy in force.
func (s *Server) policy() *policyState { return s.state.Load() }

// CheckPolicy reports whether SetPolicy would accept p, changing nothing:
// a reload checks every part of a new configuration before it swaps any.
func (s *Server) CheckPolicy(p Policy) error {
	_, err := s.checkPolicy(p)
	return err
}

func (s *Server) checkPolicy(p Policy) (*Resources, error) {
	res, err := NewResources(p.Resources)
	if err != nil {
		return nil, fmt.Errorf("resources: %w", err)
	}
	if s.registration != nil && (p.Register.PerIPPerMinute < 1 || p.Register.GlobalPerSecond < 1 || p.Register.MaxBody < 1) {
		return nil, fmt.Errorf("registration limits must be positive")
	}
	return res, nil
}

// SetPolicy validates p and swaps it in atomically; on error nothing
// changes.
func (s *Server) SetPolicy(p Policy) error {
	res, err := s.checkPolicy(p)
	if err != nil {
		return err
	}
	st := &policyState{clients: p.Clients, resources: res, register: p.Register, cimd: p.CIMD, clientCredentials: p.ClientCredentials}
	if st.clients == nil {
		st.clients = &ClientChain{}
	}
	st.metadata = s.buildMetadata(st)
	if s.regLimiter == nil {
		s.regLimiter = newRegistrationLimiter(p.Register)
	} else {
		s.regLimiter.reconfigure(p.Register)
	}
	s.state.Store(st)
	return nil
}
