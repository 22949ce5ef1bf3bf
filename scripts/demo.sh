#!/usr/bin/env bash
# demo.sh: start `dbplane dev` and walk a cluster through its life with the
# CLI. No host has joined yet (agents come with the next release), so the
# create task stops at placement with a clear error; the demo then shows the
# task's DAG and log, rolls it back, and leaves the control plane running
# until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/dbplane}
DATA=${DBPLANE_DEMO_DIR:-$PWD/.dev}
LISTEN=${DBPLANE_DEMO_LISTEN:-127.0.0.1:8080}
export DBPLANE_ADMIN_PASSWORD=${DBPLANE_ADMIN_PASSWORD:-Demo-Passw0rd}
export DBPLANE_SERVER="http://$LISTEN" DBPLANE_USER=admin DBPLANE_PASSWORD="$DBPLANE_ADMIN_PASSWORD"
export DBPLANE_CLUSTER_PASSWORD=${DBPLANE_CLUSTER_PASSWORD:-Orders-Passw0rd}

mkdir -p "$DATA"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

"$BIN" dev --data-dir "$DATA" --listen "$LISTEN" >"$DATA/dev.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT
trap 'exit 0' INT TERM
for _ in $(seq 50); do
	curl -fsS "$DBPLANE_SERVER/readyz" >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$DATA/dev.log"; exit 1; }
	sleep 0.2
done
echo "dbplane dev is running at $DBPLANE_SERVER (log: $DATA/dev.log)"

step "What can be created" "$BIN" catalog
name="orders-$(date +%H%M%S)"
step "Plan a 3-node PostgreSQL cluster (dry run: nothing is stored)" \
	"$BIN" cluster create --name "$name" --engine postgresql --version 15 --topology replication \
	--nodes 3 --replication-mode sync --flavor dbp.c2.m4 --volume-gb 20 --dry-run
step "A spec that breaks the rules gets every violation, by field" \
	"$BIN" cluster create --name 9x --engine postgresql --topology replication --nodes 12 \
	--flavor huge --volume-gb 15 || true

printf '\n\033[1m== Create it and watch the task live\033[0m\n'
out=$("$BIN" cluster create --name "$name" --engine postgresql --version 15 --topology replication \
	--nodes 3 --replication-mode sync --flavor dbp.c2.m4 --volume-gb 20 --wait) || true
echo "$out"
task=$(echo "$out" | awk '/^task /{print $2; exit}')
[ -n "$task" ] || { echo "no task id in: $out"; exit 1; }

step "The task's DAG" "$BIN" task show "$task"
step "Roll the failed create back (removes the cluster record)" "$BIN" task rollback "$task"
step "Watch the rollback" "$BIN" task watch "$task"
step "Clusters now" "$BIN" cluster list

printf '\nThe control plane keeps running at %s; press Ctrl-C to stop it.\n' "$DBPLANE_SERVER"
wait "$pid"
