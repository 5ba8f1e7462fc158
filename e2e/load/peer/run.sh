#!/bin/sh
# Side-by-side load run: Gatehouse on bbolt, Gatehouse on PostgreSQL, then
# node-oidc-provider (this directory), each alone on core 0 (Gatehouse on
# PostgreSQL shares core 0 with its database), driven by the same load
# generator on core 1 with the same settings. Prints one table with the
# three columns and the ratios, then each server's CPU time per request
# (from /proc, for the modes that measure from their first request): on a
# shared machine the throughput of a server pinned to one core moves with
# the others' load, its CPU time per request far less.
#
#   e2e/load/peer/run.sh                  # -c 64 -d 10s, one round
#   ROUNDS=3 e2e/load/peer/run.sh         # medians of 3 rounds
#   GH_PORT=9080 DOC_ADDR=127.0.0.1:9443 e2e/load/peer/run.sh   # if 8080/8443 are taken
#
# Environment: C (64), D (10s), ROUNDS (1), MODES, SERVERS ("bbolt postgres
# peer"), CODES (codes minted for exchange, 30000), GH_PORT (8080),
# PEER_PORT (3000), DOC_ADDR (127.0.0.1:8443), WORK (e2e/load/.run/peer in
# the repository, git-ignored: binaries, config copy, throwaway data dir, CA,
# results).
set -eu

C=${C:-64}
D=${D:-10s}
ROUNDS=${ROUNDS:-1}
MODES=${MODES:-discovery client_credentials register authorize_login authorize_cimd exchange refresh}
SERVERS=${SERVERS:-bbolt postgres peer}
CODES=${CODES:-30000}
# node-oidc-provider has these (the others sign in through Gatehouse's pages).
PEER_MODES=" discovery client_credentials register authorize_login authorize_cimd "
GH_PORT=${GH_PORT:-8080}
PEER_PORT=${PEER_PORT:-3000}
DOC_ADDR=${DOC_ADDR:-127.0.0.1:8443}
PEER_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$PEER_DIR/../../.." && pwd)
WORK=${WORK:-$ROOT/e2e/load/.run/peer}
CIMD=https://$DOC_ADDR/oauth/client.json

for port in "$GH_PORT" "$PEER_PORT" "${DOC_ADDR##*:}"; do
	if ss -ltn "sport = :$port" | grep -q LISTEN; then
		echo "port $port is in use; pick others (GH_PORT, PEER_PORT, DOC_ADDR)" >&2
		exit 1
	fi
done

mkdir -p "$WORK"
rm -rf "$WORK/data" "$WORK/results.txt"
(cd "$ROOT" && go build -o "$WORK/gatehouse" ./cmd/gatehouse && go build -o "$WORK/load" ./e2e/load)
[ -d "$PEER_DIR/node_modules" ] || (cd "$PEER_DIR" && npm ci --no-audit --no-fund)

# Gatehouse's load config, moved to this run's ports, data dir and CA.
sed -e "s#127.0.0.1:8080#127.0.0.1:$GH_PORT#g" \
	-e "s#^data_dir: .*#data_dir: $WORK/data#" \
	-e "s#^  extra_ca_file: .*#  extra_ca_file: $WORK/ca.pem#" \
	"$ROOT/e2e/load/gatehouse.yaml" >"$WORK/gatehouse.yaml"

PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

wait_up() { # url
	i=0
	until curl -sf -o /dev/null "$1"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "no answer from $1" >&2; exit 1; }
		sleep 0.1
	done
}

taskset -c 1 "$WORK/load" -mode dochost -doc-addr "$DOC_ADDR" -ca "$WORK/ca.pem" 2>"$WORK/dochost.log" &
DOC_PID=$!
PIDS="$DOC_PID"
i=0
until [ -s "$WORK/ca.pem" ]; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done

# cpu_ticks PID: the process's CPU time so far (user + system, all its
# threads), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

measure() { # server-name extra-load-flags... (the server's process: $SRV)
	name=$1
	shift
	for m in $MODES; do
		if [ "$name" = node-oidc-provider ] && ! echo "$PEER_MODES" | grep -q " $m "; then
			continue
		fi
		t0=$(cpu_ticks "$SRV")
		out=$(taskset -c 1 "$WORK/load" "$@" -mode "$m" -c "$C" -d "$D" -codes "$CODES" -cimd "$CIMD" 2>>"$WORK/load.log")
		t1=$(cpu_ticks "$SRV")
		# The server's CPU time per request: what the machine's other load
		# stretches least. Only for modes that measure from the start
		# (exchange and refresh first mint codes or chains through the
		# same server), and the server process alone (not PostgreSQL's).
		case $m in exchange | refresh) cpu=- ;; *) cpu=$(echo "$out" | awk -v t=$((t1 - t0)) -v us="$TICK_US" 'NR == 1 && $2 > 0 { printf "%.0f", t * us / $2 }') ;; esac
		echo "$name $out" # a second line names the first error, if any
		echo "$name $out" | head -n 1 | sed "s/\$/, cpu_us_per_req ${cpu:--}/" >>"$WORK/results.txt"
	done
}

r=1
while [ $r -le "$ROUNDS" ]; do
	echo "# round $r of $ROUNDS: -c $C -d $D"

	for backend in $SERVERS; do
		case $backend in
		bbolt)
			rm -rf "$WORK/data"
			echo load-test-password | "$WORK/gatehouse" user add load --password-stdin --config "$WORK/gatehouse.yaml" >/dev/null
			taskset -c 0 "$WORK/gatehouse" serve --config "$WORK/gatehouse.yaml" 2>>"$WORK/gatehouse.log" &
			SRV=$!
			PIDS="$DOC_PID $SRV"
			wait_up "http://127.0.0.1:$GH_PORT/.well-known/oauth-authorization-server"
			measure gatehouse -url "http://127.0.0.1:$GH_PORT"
			kill "$SRV"; wait "$SRV" 2>/dev/null || true
			;;
		postgres)
			# A fresh durable cluster per round, on the server's core.
			rm -f "$WORK/postgres.url"
			taskset -c 0 "$WORK/load" -mode postgres -pg-url-file "$WORK/postgres.url" 2>>"$WORK/postgres.log" &
			PG=$!
			PIDS="$DOC_PID $PG"
			i=0
			until [ -s "$WORK/postgres.url" ]; do i=$((i + 1)); [ $i -lt 300 ] || { echo "postgres did not start" >&2; exit 1; }; sleep 0.1; done
			export GATEHOUSE_STORE_BACKEND=postgres GATEHOUSE_STORE_POSTGRES_URL="$(cat "$WORK/postgres.url")"
			echo load-test-password | "$WORK/gatehouse" user add load --password-stdin --config "$WORK/gatehouse.yaml" >/dev/null
			taskset -c 0 "$WORK/gatehouse" serve --config "$WORK/gatehouse.yaml" 2>>"$WORK/gatehouse-pg.log" &
			SRV=$!
			PIDS="$DOC_PID $PG $SRV"
			wait_up "http://127.0.0.1:$GH_PORT/.well-known/oauth-authorization-server"
			measure gatehouse-pg -url "http://127.0.0.1:$GH_PORT"
			kill "$SRV"; wait "$SRV" 2>/dev/null || true
			unset GATEHOUSE_STORE_BACKEND GATEHOUSE_STORE_POSTGRES_URL
			kill "$PG"; wait "$PG" 2>/dev/null || true
			;;
		peer)
			(
				cd "$PEER_DIR"
				export NODE_ENV=production NODE_EXTRA_CA_CERTS="$WORK/ca.pem" PEER_PORT PEER_CIMD_ORIGINS="https://$DOC_ADDR"
				exec taskset -c 0 node server.mjs 2>>"$WORK/peer.log"
			) &
			SRV=$!
			PIDS="$DOC_PID $SRV"
			wait_up "http://127.0.0.1:$PEER_PORT/.well-known/openid-configuration"
			measure node-oidc-provider -peer -url "http://127.0.0.1:$PEER_PORT"
			kill "$SRV"; wait "$SRV" 2>/dev/null || true
			;;
		esac
	done

	r=$((r + 1))
done

# Lines look like: "<server> <mode>: N requests in T, R req/s, p50 X, p99 Y, errors E, cpu_us_per_req U".
echo
echo "median req/s over $ROUNDS round(s), -c $C -d $D (server on core 0, load on core 1)"
awk -v modes="$MODES" '
	{ sub(":", "", $2); rps[$1, $2] = rps[$1, $2] " " $7; errs[$1, $2] += $(NF - 2); seen[$1, $2] = 1
	  if ($NF != "-") { cpu[$1, $2] = cpu[$1, $2] " " $NF; cseen[$1, $2] = 1 } }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function col(s, m) { return seen[s, m] ? sprintf("%.0f", median(rps[s, m])) : "-" }
	function ccol(s, m) { return cseen[s, m] ? sprintf("%.0f", median(cpu[s, m])) : "-" }
	function ratio(a, b) { return (a != "-" && b != "-" && b > 0) ? sprintf("%.1fx", a / b) : "-" }
	END {
		printf "| %-18s | %8s | %11s | %18s | %9s | %11s | %9s | %s |\n", "mode", "bbolt", "PostgreSQL", "node-oidc-provider", "pg/bbolt", "bbolt/node", "pg/node", "errors (b/p/n)"
		printf "|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------", "----------", "-------------", "--------------------", "-----------", "-------------", "-----------", "----------------"
		n = split(modes, ms, " ")
		for (k = 1; k <= n; k++) {
			m = ms[k]; b = col("gatehouse", m); p = col("gatehouse-pg", m); o = col("node-oidc-provider", m)
			printf "| %-18s | %8s | %11s | %18s | %9s | %11s | %9s | %d/%d/%d |\n", m, b, p, o, ratio(p, b), ratio(b, o), ratio(p, o),
				errs["gatehouse", m], errs["gatehouse-pg", m], errs["node-oidc-provider", m]
		}
		printf "\nserver CPU per request, µs (median; PostgreSQL column: the Gatehouse process only, not the database)\n"
		printf "| %-18s | %8s | %11s | %18s | %11s |\n", "mode", "bbolt", "PostgreSQL", "node-oidc-provider", "node/bbolt"
		printf "|%s|%s|%s|%s|%s|\n", "--------------------", "----------", "-------------", "--------------------", "-------------"
		for (k = 1; k <= n; k++) {
			m = ms[k]; b = ccol("gatehouse", m); p = ccol("gatehouse-pg", m); o = ccol("node-oidc-provider", m)
			if (b == "-" && p == "-" && o == "-") continue
			printf "| %-18s | %8s | %11s | %18s | %11s |\n", m, b, p, o, ratio(o, b)
		}
	}' "$WORK/results.txt"
echo "(raw lines: $WORK/results.txt; server logs: $WORK/*.log)"
