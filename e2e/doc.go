// Package e2e is Gatehouse's end-to-end suite: real processes on loopback
// (gatehouse, gatehouse-demo-mcp, a TLS host for client metadata
// documents) driven by real third-party MCP clients (the TypeScript SDK v1
// and v2 through Node, the MCP Go SDK) and by a real headless Chromium.
//
// The tests carry the build tag e2e, so `go test ./...` skips them:
//
//	e2e/run.sh                                  # set up, then run the suite
//	go test -tags e2e -count=1 ./e2e/...        # the same (runs e2e/setup.sh first)
//
// Process logs, driver reports and browser screenshots go to e2e/artifacts.
// See e2e/README.md for what each test covers.
package e2e
