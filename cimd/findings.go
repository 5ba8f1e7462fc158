package cimd

// FindingStatus is the verdict of one rule in a validation or check.
type FindingStatus string

const (
	// StatusPassed: the rule holds.
	StatusPassed FindingStatus = "passed"
	// StatusFailed: the rule is broken; the document (or check) is refused.
	StatusFailed FindingStatus = "failed"
	// StatusNarrowed: something unsupported or unusable was dropped or
	// defaulted, and the rest is accepted (decision §6.2).
	StatusNarrowed FindingStatus = "narrowed"
)

// Finding is one rule's verdict, for the check report and logs.
type Finding struct {
	Rule   string
	Status FindingStatus
	Detail string
	Spec   string
}

// DroppedRedirect is a redirect_uris entry refused by the redirect policy
// when the document was accepted; a request naming it gets this reason.
type DroppedRedirect struct {
	URI    string
	Reason string
}

// findings accumulates verdicts in rule order.
type findings []Finding

func (f *findings) pass(rule, spec, detail string) {
	*f = append(*f, Finding{Rule: rule, Status: StatusPassed, Detail: detail, Spec: spec})
}

func (f *findings) fail(rule, spec, detail string) {
	*f = append(*f, Finding{Rule: rule, Status: StatusFailed, Detail: detail, Spec: spec})
}

func (f *findings) narrow(rule, spec, detail string) {
	*f = append(*f, Finding{Rule: rule, Status: StatusNarrowed, Detail: detail, Spec: spec})
}

// firstFailure returns the first failed finding as a *ValidationError.
func (f findings) firstFailure() error {
	for _, x := range f {
		if x.Status == StatusFailed {
			return &ValidationError{Rule: x.Rule, Detail: x.Detail, Spec: x.Spec}
		}
	}
	return nil
}
