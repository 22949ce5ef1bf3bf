#!/usr/bin/env bash
# pg-test-server.sh starts a throw-away PostgreSQL 15 server for the store
# tests and prints its URL on stdout:
#
#   export DBPLANE_TEST_POSTGRES_URL=$(.ci/pg-test-server.sh)
#   .ci/pg-test-server.sh stop
#
# It is idempotent: a second start finds the running server and prints the
# same URL. The server listens on 127.0.0.1 only ($PGPORT, default 55432),
# trusts loopback connections and runs with fsync off: it holds test data
# only. Run it as root; the server itself runs as the postgres OS user,
# because PostgreSQL refuses to run as root.
set -euo pipefail

PGPORT="${PGPORT:-55432}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
BASE="${TMPDIR:-/tmp}/dbplane-pg-$PGPORT"
DATA="$BASE/data"
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"

log() { echo "pg-test-server: $*" >&2; }

# as runs a command as the postgres OS user when we are root, and as
# ourselves otherwise (a developer who runs it as an ordinary user).
as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

install_postgres() {
	[ -x "$PGBIN/postgres" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "PostgreSQL 15 is missing and installing it needs root"
		exit 1
	fi
	log "installing postgresql-15"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql-15 >&2
}

running() {
	[ -f "$DATA/PG_VERSION" ] && as "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

init_cluster() {
	rm -rf "$BASE"
	mkdir -p "$BASE"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir "$BASE" postgres
		chown postgres: "$BASE"
	fi
	chmod 700 "$BASE"
	as "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$BASE/initdb.log" 2>&1 || {
		cat "$BASE/initdb.log" >&2
		exit 1
	}
	# Loopback and the private socket only: trust is safe nowhere else.
	as tee "$DATA/pg_hba.conf" >/dev/null <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA
	as tee -a "$DATA/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$BASE'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
}

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$PGPORT") 2>/dev/null
}

start() {
	install_postgres
	if running; then
		wait_ready
		echo "$URL"
		return
	fi
	if port_busy; then
		log "port $PGPORT on 127.0.0.1 is taken by another process; set PGPORT to a free port"
		exit 1
	fi
	# Start from a fresh data directory: the data is throw-away, and a
	# directory left by a killed machine may be half-written.
	init_cluster
	if ! as "$PGBIN/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w -t 60 start >/dev/null; then
		cat "$BASE/server.log" >&2 || true
		exit 1
	fi
	wait_ready
	echo "$URL"
}

wait_ready() {
	for _ in $(seq 1 120); do
		if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres; then
			return 0
		fi
		sleep 0.5
	done
	log "server on port $PGPORT does not accept connections; see $BASE/server.log"
	exit 1
}

stop() {
	if running; then
		as "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
	fi
	rm -rf "$BASE"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*)
	log "usage: $0 [start|stop]"
	exit 2
	;;
esac
