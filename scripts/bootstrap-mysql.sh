#!/usr/bin/env bash
# bootstrap-mysql.sh ROOT standalone|replication|galera: bootstrap a MariaDB
# 10.11 topology by hand, as fast as a script can, for `make bench` to compare
# dbplane with: standalone (1 node), replication (a primary and 2 GTID
# replicas with lossless semi-sync, done when both are semi-sync clients),
# galera (3 members, joiners by mariabackup SST, done when all are Synced).
# Node i listens on 127.0.0.(41+i):3306.
#   bootstrap-mysql.sh stop ROOT   stops the nodes under ROOT and removes them.
# Run as root; MariaDB runs as the mysql user.
set -euo pipefail
as() { runuser -u mysql -- "$@"; }
ip() { echo "127.0.0.$((41 + $1))"; }
sql() { mariadb -S "$root/node-$1/sock" -Nse "$2"; }

if [ "${1:-}" = stop ]; then
	for pidf in "$2"/node-*/pid; do
		[ -f "$pidf" ] && kill -9 "$(cat "$pidf")" 2>/dev/null || true
	done
	pkill -9 -f -- "--defaults-file=$2/" 2>/dev/null || true # joiners before their pid file
	rm -rf "$2"
	exit 0
fi

root=$1 topology=$2
case $topology in standalone) n=1 ;; replication | galera) n=3 ;; *) echo "bad topology $topology" >&2; exit 2 ;; esac
mkdir -p "$root" && chmod 755 "$root"

conf() { # conf I: the node's config file
	local d="$root/node-$1"
	mkdir -p "$d/data" && chown -R mysql: "$d"
	cat >"$d/my.cnf" <<CNF
[mysqld]
datadir = $d/data
socket = $d/sock
pid_file = $d/pid
log_error = $d/err
bind_address = $(ip "$1")
port = 3306
server_id = $(($1 + 1))
skip_name_resolve = ON
binlog_format = ROW
CNF
	case $topology in
	replication)
		printf 'log_bin = %s\ngtid_strict_mode = ON\nlog_slave_updates = ON\n' "$d/binlog" >>"$d/my.cnf"
		if [ "$1" -eq 0 ]; then
			# Semi-sync goes on once replicas are attached: before, the first
			# write would wait out the timeout for an acknowledgement.
			printf 'rpl_semi_sync_master_wait_point = AFTER_SYNC\n' >>"$d/my.cnf"
		else
			printf 'rpl_semi_sync_slave_enabled = ON\nread_only = ON\n' >>"$d/my.cnf"
		fi ;;
	galera)
		cat >>"$d/my.cnf" <<CNF
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = /usr/lib/galera/libgalera_smm.so
wsrep_cluster_name = bench
wsrep_cluster_address = gcomm://$(ip 0),$(ip 1),$(ip 2)
wsrep_node_address = $(ip "$1")
wsrep_provider_options = "gmcast.listen_addr=tcp://$(ip "$1"):4567;ist.recv_addr=$(ip "$1"):4568"
wsrep_sst_method = mariabackup
wsrep_sst_receive_address = $(ip "$1"):4444
wsrep_sst_auth = sst:sst-Passw0rd
[sst]
sockopt = bind=$(ip "$1")
CNF
		;;
	esac
}
launch() { # launch I [mariadbd options]
	local i=$1
	shift
	as mariadbd --defaults-file="$root/node-$i/my.cnf" "$@" >/dev/null 2>&1 &
}
ready() { # ready I: wait until node I answers
	until sql "$1" "SELECT 1" >/dev/null 2>&1; do sleep 0.02; done
}
install_db() { as mariadb-install-db --defaults-file="$root/node-$1/my.cnf" --auth-root-authentication-method=socket --skip-test-db >/dev/null; }

for ((i = 0; i < n; i++)); do conf "$i"; done
case $topology in
standalone)
	install_db 0 && launch 0 && ready 0 ;;
replication)
	# One install, copied: parallel mariadb-install-db runs are unreliable,
	# and a copy of a fresh data directory is faster anyway.
	install_db 0
	for ((i = 1; i < n; i++)); do cp -a "$root/node-0/data/." "$root/node-$i/data/"; done
	for ((i = 0; i < n; i++)); do launch "$i"; done
	for ((i = 0; i < n; i++)); do ready "$i"; done
	sql 0 "CREATE USER repl@'127.%'; GRANT REPLICATION SLAVE ON *.* TO repl@'127.%'"
	for i in 1 2; do
		sql "$i" "CHANGE MASTER TO MASTER_HOST='$(ip 0)', MASTER_USER='repl', MASTER_USE_GTID=slave_pos; START SLAVE"
	done
	sql 0 "SET GLOBAL rpl_semi_sync_master_enabled = ON"
	until [ "$(sql 0 "SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'" | cut -f2)" = 2 ]; do sleep 0.02; done ;;
galera)
	install_db 0
	launch 0 --wsrep-new-cluster
	ready 0
	sql 0 "CREATE USER sst@localhost IDENTIFIED BY 'sst-Passw0rd'; GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO sst@localhost"
	launch 1 && launch 2
	for i in 0 1 2; do
		until [ "$(sql "$i" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2)" = Synced ]; do sleep 0.02; done
	done
	[ "$(sql 0 "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)" = 3 ] ;;
esac
