#!/usr/bin/env bash
# make test's test stage: every package's tests once, those named on the
# command line (the concurrent packages) under -race and the others without.
#
# How it keeps to the time budget on two cores (README, Tests):
# - The plain run lists the longest packages first (LONG below), so that
#   they start at once instead of whenever `go test` reaches them in
#   alphabetical order (internal/server used to start 250 s in).
# - While the plain run's tests wait on browsers, timers and sockets, the
#   race packages' test binaries and staticcheck are compiled beside it
#   (pure CPU, no tests running): a cold -race build of the dependencies
#   took ~250 s of the race stage's 346 s when it came after.
# - The -race run itself comes last, alone: beside the plain run it slowed
#   the contest's timing tests past their margins (TestAnswerTimedAfterResume).
# The stage fails if any part does.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
STATICCHECK=${STATICCHECK:-$("$GO" env GOPATH)/bin/staticcheck}

# The longest packages, longest first (measured: docs/benchmarks.md, make test).
LONG=(./internal/server ./internal/e2e ./loadtest ./internal/seed ./internal/cluster ./internal/practice)

race=("$@")
mapfile -t all < <("$GO" list ./...)
declare -A skip
for p in "${race[@]}"; do skip[$("$GO" list "$p")]=1; done
plain=()
declare -A listed
for p in "${LONG[@]}"; do
	p=$("$GO" list "$p")
	[[ -n ${skip[$p]:-} ]] || plain+=("$p")
	listed[$p]=1
done
for p in "${all[@]}"; do [[ -n ${skip[$p]:-} || -n ${listed[$p]:-} ]] || plain+=("$p"); done

start=$SECONDS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(
	"$GO" test -race -c -o "$tmp/race/" "${race[@]}" >"$tmp/race-build.log" 2>&1
	echo $? >"$tmp/race-build.rc"
	"$STATICCHECK" ./... >"$tmp/staticcheck.log" 2>&1
	echo $? >"$tmp/staticcheck.rc"
) &
side=$!

"$GO" test -count=1 -timeout 20m "${plain[@]}"
plain_rc=$?
echo "--- test.sh: plain run done at $((SECONDS - start)) s; waiting for the -race build and staticcheck"
wait "$side"
static_rc=$(cat "$tmp/staticcheck.rc" 2>/dev/null || echo 1)
echo "--- staticcheck ./... (exit $static_rc)"
cat "$tmp/staticcheck.log"
if [[ $(cat "$tmp/race-build.rc" 2>/dev/null || echo 1) != 0 ]]; then cat "$tmp/race-build.log"; fi
echo "--- go test -race ${race[*]}"
"$GO" test -race -count=1 -timeout 10m "${race[@]}"
race_rc=$?
echo "test.sh: tests took $((SECONDS - start)) s (plain: exit $plain_rc, staticcheck: exit $static_rc, race: exit $race_rc)"
[[ $plain_rc -eq 0 && $static_rc -eq 0 && $race_rc -eq 0 ]]
