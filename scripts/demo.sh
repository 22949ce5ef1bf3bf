#!/usr/bin/env bash
# demo.sh: start `dbplane dev --hosts 3` (a control plane and three agents on
# 127.0.0.11-13), create a 3-node synchronously replicated PostgreSQL cluster
# with live progress, connect to it with a real client, and keep it running
# until Ctrl-C, when the cluster is deleted and dev stops. Run it as root:
# the agents install packages and run PostgreSQL as the postgres user.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/dbplane}
DATA=${DBPLANE_DEMO_DIR:-/var/lib/dbplane-dev}
LISTEN=${DBPLANE_DEMO_LISTEN:-127.0.0.1:8080}
export DBPLANE_ADMIN_PASSWORD=${DBPLANE_ADMIN_PASSWORD:-Demo-Passw0rd}
# The API speaks TLS with a certificate of dev's own CA, which dev writes to
# $DATA/ca.pem: the CLI verifies the server with it.
export DBPLANE_SERVER="https://$LISTEN" DBPLANE_CA_FILE="$DATA/ca.pem"
# One login; later commands use the token it saves under $XDG_CONFIG_HOME.
export DBPLANE_USER=admin XDG_CONFIG_HOME="$DATA/cli"
export DBPLANE_CLUSTER_PASSWORD=${DBPLANE_CLUSTER_PASSWORD:-Orders-Passw0rd}

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (the agents run PostgreSQL as the postgres user)"; exit 1; }
if ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "ok installed"; then
	echo "installing postgresql-15 (the agents would do it too, one host at a time)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

mkdir -p "$DATA"
# Its own session: Ctrl-C reaches the script, which deletes the cluster first.
setsid "$BIN" dev --hosts 3 --data-dir "$DATA" --listen "$LISTEN" >"$DATA/dev.log" 2>&1 &
pid=$!
cluster=""
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$cluster" ]; then
		printf '\n\033[1m== Deleting cluster %s\033[0m\n' "$cluster"
		"$BIN" cluster delete "$cluster" --wait >/dev/null || true
	fi
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM
logged_in=""
for _ in $(seq 100); do
	[ -n "$logged_in" ] || { "$BIN" login --password-stdin <<<"$DBPLANE_ADMIN_PASSWORD" >/dev/null 2>&1 && logged_in=1; }
	[ -n "$logged_in" ] && "$BIN" host list -o json 2>/dev/null | grep -q '"ONLINE"' && break
	kill -0 "$pid" 2>/dev/null || { cat "$DATA/dev.log"; exit 1; }
	sleep 0.2
done
echo "dbplane dev is running at $DBPLANE_SERVER (log: $DATA/dev.log)"

step "The fleet: three hosts on one machine" "$BIN" host list
"$BIN" project show shop >/dev/null 2>&1 ||
	step "A project with a quota, to hold the cluster" "$BIN" project create shop --max-clusters 3 --max-nodes 9
name="orders-$(date +%H%M%S)"
step "Plan a 3-node PostgreSQL cluster (dry run: nothing is stored)" \
	"$BIN" cluster create --name "$name" --project shop --engine postgresql --version 15 --topology replication \
	--nodes 3 --replication-mode sync --flavor dbp.c2.m4 --volume-gb 20 --dry-run
step "Create it and watch the task live" \
	"$BIN" cluster create --name "$name" --project shop --engine postgresql --version 15 --topology replication \
	--nodes 3 --replication-mode sync --flavor dbp.c2.m4 --volume-gb 20 --wait
cluster=$name
step "The cluster" "$BIN" cluster show "$name"

uri=$("$BIN" cluster show "$name" -o json | sed -n 's/.*"uri": *"\([^"]*\)".*/\1/p')
printf '\n\033[1m== Connect with the multi-host URI\033[0m\n%s\n' "$uri"
PGPASSWORD="$DBPLANE_CLUSTER_PASSWORD" psql "$uri" -v ON_ERROR_STOP=1 -X <<'SQL'
SELECT inet_server_addr() AS primary, inet_server_port() AS port, pg_is_in_recovery() AS read_only;
CREATE TABLE IF NOT EXISTS demo (id serial PRIMARY KEY, at timestamptz DEFAULT now());
INSERT INTO demo DEFAULT VALUES;
SELECT application_name AS replica, state, sync_state FROM pg_stat_replication ORDER BY 1;
SQL

step "Who did what: the audit log" "$BIN" audit list --limit 5

printf '\nThe cluster keeps running; connect with:\n  PGPASSWORD=%s psql "%s"\nPress Ctrl-C to delete it and stop dbplane dev.\n' "$DBPLANE_CLUSTER_PASSWORD" "$uri"
wait "$pid"
