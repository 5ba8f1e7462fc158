package server

import "fmt"

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
}

// policyState is a validated Policy with what is derived from it. It is
// immutable: a reload builds a new one and swaps the pointer, so a request
// sees either the old policy or the new one, never a mix.
type policyState struct {
	clients   ClientResolver
	resources *Resources
	register  RegisterLimits
	cimd      bool
	metadata  *metadataDoc
}

// policy is the policy in force.
func (s *Server) policy() *policyState { return s.state.Load() }

// SetPolicy validates p and swaps it in atomically; on error nothing
// changes.
func (s *Server) SetPolicy(p Policy) error {
	res, err := NewResources(p.Resources)
	if err != nil {
		return fmt.Errorf("resources: %w", err)
	}
	if s.registration != nil && (p.Register.PerIPPerMinute < 1 || p.Register.GlobalPerSecond < 1 || p.Register.MaxBody < 1) {
		return fmt.Errorf("registration limits must be positive")
	}
	st := &policyState{clients: p.Clients, resources: res, register: p.Register, cimd: p.CIMD}
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
