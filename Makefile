# The README's test command is `make test`; CI (.ci/run) calls it too.
GO ?= go

.PHONY: test unit lint fuzz bench docs e2e reliability crash crash-postgres soak

# Every test: formatting, vet, no machine paths (.ci/machine-paths), the unit and integration tests with the
# race detector, a short run of every fuzz target, the end-to-end suite,
# and the short forms of the reliability tests.
test: lint unit fuzz e2e reliability

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags chaos ./e2e/chaos
	@./.ci/machine-paths-test
	@./.ci/machine-paths

# The PostgreSQL backend's tests start throwaway clusters with Debian's
# server programs, which .ci/setup-postgres installs when missing.
unit:
	./.ci/setup-postgres
	$(GO) test -race -count=1 ./...

# Each fuzz target runs briefly (FUZZTIME, default 5s); the seed corpora
# also run as ordinary tests in `unit`.
FUZZTIME ?= 5s
fuzz:
	@./.ci/fuzz $(FUZZTIME)

# End to end: the real gatehouse and demo MCP server driven by the MCP TS SDK
# v1 and v2, the Go SDK and headless Chromium (installs Debian chromium and the
# pinned npm packages when missing; see e2e/README.md).
e2e:
	./e2e/run.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Regenerate the settings table at the end of docs/configuration.md.
docs:
	@sed -n '1,/^| key | default |/p' docs/configuration.md | sed '$$d' > docs/.configuration.md.tmp
	@$(GO) run ./cmd/gatehouse config reference >> docs/.configuration.md.tmp
	@mv docs/.configuration.md.tmp docs/configuration.md
	@echo "docs/configuration.md regenerated"

# Reliability (docs/reliability.md), against the real binary: the crash
# test with CHAOS_KILLS SIGKILLs, the soak for SOAK, and the fault tests.
# make test runs the short forms: 5 kills and a 60-second soak.
CHAOS_KILLS ?= 20
SOAK ?= 30m
reliability:
	./.ci/setup-postgres
	CHAOS_KILLS=5 SOAK=60s $(GO) test -tags chaos -count=1 -timeout 20m -v ./e2e/chaos

# The full crash run: prints one line with kills, writes checked and lost.
crash:
	$(GO) run ./e2e/chaos crash -kills $(CHAOS_KILLS)

# The same on PostgreSQL (a throwaway cluster of Debian's server).
crash-postgres:
	./.ci/setup-postgres
	$(GO) run ./e2e/chaos crash -backend postgres -kills $(CHAOS_KILLS)

# The full soak; soak.csv and soak.svg land in e2e/chaos/artifacts/TestSoak.
soak:
	SOAK=$(SOAK) $(GO) test -tags chaos -count=1 -timeout 0 -v -run '^TestSoak$$' ./e2e/chaos
