#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module for FUZZTIME each (default
# 5s), one at a time: `make fuzz`, and the end of `make test`.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" when -fuzztime ends while a worker is mid-input under
# CPU load (go.dev/issue/75804, fixed in Go 1.27). Such a run writes no
# failing input. A target that fails that way is run once more; any other
# failure, a written failing input, or a second failure fails the run.
set -uo pipefail

GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-5s}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

# fuzz_once runs one target; its output is kept in $out.
fuzz_once() {
	"$GO" test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" "$1" >"$out" 2>&1
	local rc=$?
	cat "$out"
	return $rc
}

# coordinator_race reports whether the last run failed only by the Go fuzz
# coordinator's deadline race: no failing input, the deadline message.
coordinator_race() {
	! grep -q 'Failing input written to' "$out" && grep -q '^    context deadline exceeded$' "$out"
}

for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
	for f in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
		echo "fuzz $dir $f"
		fuzz_once "$dir" "$f" && continue
		if coordinator_race; then
			echo "fuzz $dir $f: the fuzz coordinator's deadline race (go.dev/issue/75804), no failing input: running it again"
			fuzz_once "$dir" "$f" && continue
		fi
		exit 1
	done
done
