#!/usr/bin/env bash
# Installs what the end-to-end suite needs on a fresh Debian machine:
#   - Debian's Chromium (apt), for the real-browser test;
#   - the Node drivers' packages, exactly as pinned by e2e/node/package-lock.json (npm ci).
# Idempotent: when everything is already in place it only checks, in well under a second.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf 'e2e/setup: %s\n' "$*" >&2; }

# Node.js 20 or newer runs every driver (the MCP SDKs and playwright-core ask for >=20).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	say "node and npm are required (Node.js 20 or newer)"; exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
	say "Node.js $(node --version) is too old: the drivers need 20 or newer"; exit 1
fi

# Chromium from Debian's packages (a test tool's own browser download does not work here).
chromium_bin=/usr/bin/chromium # where Debian's package puts it; e2e/node/browser.mjs launches it
if [ ! -x "$chromium_bin" ]; then
	say "installing Debian's chromium"
	if [ "$(id -u)" -eq 0 ]; then
		sudo_cmd=()
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo_cmd=(sudo -n)
	else
		say "$chromium_bin is missing and this user cannot run apt-get: install the Debian package chromium"; exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo_cmd[@]}" apt-get update -qq
	"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
# (Debian's wrapper script complains on stderr about its own memory check; ignore that.)
chromium_version=$("$chromium_bin" --version 2>/dev/null) || { say "$chromium_bin does not run"; exit 1; }

# The drivers' npm packages, from the lockfile only. npm ci wipes node_modules, so it runs
# only when the lockfile differs from the one last installed.
stamp=node/node_modules/.gatehouse-e2e-lock.sha256
want=$(sha256sum node/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	say "npm ci in e2e/node"
	(cd node && npm ci --no-audit --no-fund --loglevel=error)
	echo "$want" >"$stamp"
fi
say "ready: node $(node --version), $chromium_version"
