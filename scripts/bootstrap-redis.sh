#!/usr/bin/env bash
# bootstrap-redis.sh ROOT standalone|replication|cluster: bootstrap a Redis 7
# topology by hand, as fast as a script can, for `make bench` to compare
# dbplane with: standalone (1 node), replication (a primary and 2 replicas,
# done when both links are up), cluster (3 shards of a primary and a replica,
# done when cluster_state is ok). Node i listens on 127.0.0.(31+i):6379.
#   bootstrap-redis.sh stop ROOT   stops the nodes under ROOT and removes them.
# Run as root; Redis runs as the redis user, without auth (a lower bound).
set -euo pipefail
as() { runuser -u redis -- "$@"; }
ip() { echo "127.0.0.$((31 + $1))"; }

if [ "${1:-}" = stop ]; then
	for pidf in "$2"/node-*/redis.pid; do
		[ -f "$pidf" ] && kill -9 "$(cat "$pidf")" 2>/dev/null || true
	done
	rm -rf "$2"
	exit 0
fi

root=$1 topology=$2
case $topology in standalone) n=1 ;; replication) n=3 ;; cluster) n=6 ;; *) echo "bad topology $topology" >&2; exit 2 ;; esac
mkdir -p "$root" && chmod 755 "$root"

start() { # start I [extra config lines]
	local d="$root/node-$1"
	mkdir -p "$d" && chown redis: "$d"
	{
		echo "bind $(ip "$1")"; echo "port 6379"; echo "dir $d"; echo "pidfile $d/redis.pid"
		echo "daemonize yes"; echo "logfile $d/log"; echo "protected-mode no"
		echo "repl-diskless-sync-delay 0" # the default waits 5 s for more replicas
		# Connections between loopback addresses leave from 127.0.0.1: announce
		# the node's own address, or peers learn the wrong one.
		[ "$topology" = cluster ] && echo "cluster-enabled yes" && echo "cluster-config-file $d/nodes.conf" &&
			echo "cluster-announce-ip $(ip "$1")"
		[ "$topology" = replication ] && [ "$1" -gt 0 ] && echo "replicaof $(ip 0) 6379"
		true
	} >"$d/redis.conf"
	as redis-server "$d/redis.conf"
}
for ((i = 0; i < n; i++)); do start "$i"; done
for ((i = 0; i < n; i++)); do
	until redis-cli -h "$(ip "$i")" ping 2>/dev/null | grep -q PONG; do sleep 0.01; done
done

case $topology in
replication)
	for i in 1 2; do
		until redis-cli -h "$(ip "$i")" info replication | grep -q "master_link_status:up"; do sleep 0.01; done
	done ;;
cluster)
	nodes=$(for ((i = 0; i < n; i++)); do printf '%s:6379 ' "$(ip "$i")"; done)
	redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes >/dev/null
	for ((i = 0; i < n; i++)); do
		until redis-cli -h "$(ip "$i")" cluster info | grep -q "cluster_state:ok"; do sleep 0.01; done
	done ;;
esac
