package server

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/policy"
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
	// Profiles are the client profiles (client_profiles); nil: the
	// built-in default for every client, built from ClientCredentials.
	Profiles *policy.Profiles
}

// ClientCredentialsPolicy opens the client_credentials grant to clients
// that registered themselves. Operator-configured (static) clients may
// always use it when their grant_types list it. Off by default for DCR
// and CIMD clients: anyone can register one, and the grant issues tokens
// with no user in the loop for every configured resource.
//
// With client profiles, these are the built-in default profile's settings
// (policy.ProfileDefaults); a profile's allow_client_credentials overrides
// them for its clients.
type ClientCredentialsPolicy struct {
	DCR  bool // dcr.allow_client_credentials
	CIMD bool // cimd.allow_client_credentials
}

// policyState is a validated Policy with what is derived from it. It is
// immutable: a reload builds a new one and swaps the pointer, so a request
// sees either the old policy or the new one, never a mix.
type policyState struct {
	clients   ClientResolver
	resources *Resources
	register  RegisterLimits
	cimd      bool
	profiles  *policy.Profiles
	metadata  *metadataDoc
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
	if p.Profiles != nil {
		if err := CheckProfileResources(p.Resources, p.Profiles.List()); err != nil {
			return nil, err
		}
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
	st := &policyState{clients: p.Clients, resources: res, register: p.Register, cimd: p.CIMD,
		profiles: p.Profiles}
	if st.clients == nil {
		st.clients = &ClientChain{}
	}
	if st.profiles == nil {
		st.profiles = s.defaultProfiles(p.ClientCredentials)
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
