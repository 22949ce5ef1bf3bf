#!/usr/bin/env bash
# bootstrap-pg.sh ROOT N [IP...]: bootstrap a PostgreSQL 15 cluster of N
# nodes by hand, as fast as a script can: initdb and start a primary, then
# pg_basebackup and start each replica (in parallel) and wait until every
# replica streams, synchronously when N > 1. It is the physical limit that
# `make bench` compares dbplane's create-to-running time with.
#   bootstrap-pg.sh stop ROOT   stops the nodes under ROOT and removes them.
# Run as root; PostgreSQL runs as postgres. Node i listens on IP i (default
# 127.0.0.21, .22, …) port 5432, with its data in ROOT/node-i.
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
as() { runuser -u postgres -- "$@"; }

if [ "${1:-}" = stop ]; then
	root=$2
	for d in "$root"/node-?; do
		[ -f "$d/PG_VERSION" ] && as "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
	done
	rm -rf "$root"
	exit 0
fi

root=$1 n=$2
shift 2
ips=("$@")
for ((i = ${#ips[@]}; i < n; i++)); do ips[i]="127.0.0.$((21 + i))"; done
mkdir -p "$root" && chown postgres: "$root" && chmod 755 "$root"

conf() { # conf DIR IP: sockets live beside the data, which pg_basebackup copies
	mkdir -p "$1.sock" && chown postgres: "$1.sock"
	cat >>"$1/postgresql.conf" <<CONF
listen_addresses = '$2'
port = 5432
unix_socket_directories = '$1.sock'
wal_level = replica
max_wal_senders = 10
hot_standby = on
CONF
}

p="$root/node-0"
as "$PGBIN/initdb" -D "$p" --auth-local=peer --auth-host=trust --data-checksums -E UTF8 >/dev/null
conf "$p" "${ips[0]}"
echo "host replication all 127.0.0.0/8 trust" >>"$p/pg_hba.conf"
if [ "$n" -gt 1 ]; then
	names=$(seq -s, -f 'node%g' 1 $((n - 1)))
	echo "synchronous_standby_names = 'FIRST 1 ($names)'" >>"$p/postgresql.conf"
fi
as "$PGBIN/pg_ctl" -D "$p" -l "$p/log" -w start >/dev/null

replica() { # replica I
	local d="$root/node-$1"
	as "$PGBIN/pg_basebackup" -h "${ips[0]}" -p 5432 -D "$d" -R -X stream >/dev/null
	sed -i "/^listen_addresses\|^unix_socket_directories\|^synchronous_standby_names/d" "$d/postgresql.conf"
	conf "$d" "${ips[$1]}"
	echo "primary_conninfo = 'host=${ips[0]} port=5432 application_name=node$1'" >>"$d/postgresql.auto.conf"
	as "$PGBIN/pg_ctl" -D "$d" -l "$d/log" -w start >/dev/null
}
for ((i = 1; i < n; i++)); do replica "$i" & done
wait
# Done when every replica streams and, with replicas, one is the sync standby.
want="$((n - 1))|$([ "$n" -gt 1 ] && echo t || echo f)"
until [ "$(as "$PGBIN/psql" -h "$p.sock" -Atc "SELECT count(*), bool_or(sync_state = 'sync') IS TRUE
	FROM pg_stat_replication WHERE state = 'streaming'")" = "$want" ]; do
	sleep 0.01
done
