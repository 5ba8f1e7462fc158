#!/usr/bin/env bash
# The end-to-end suite's one entry point: installs what it needs (e2e/setup.sh),
# vets the e2e-tagged code, then runs the suite. Extra arguments go to go test,
# e.g. e2e/run.sh -run 'TestCIMD/clients/browser'.
# Process logs, driver reports and screenshots are left in e2e/artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
e2e/setup.sh
"$GO" vet -tags e2e ./e2e/...
GATEHOUSE_E2E_SKIP_SETUP=1 exec "$GO" test -tags e2e -count=1 -timeout 20m -v "$@" ./e2e/...
