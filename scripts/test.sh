#!/usr/bin/env bash
# make test's test stage: every package's tests, those named on the command
# line (the concurrent packages) under -race and the others without, as two
# go test runs side by side. Most test time is spent waiting (deadlines,
# sockets, the browser), so the two overlap well on two cores; each run's
# output is printed as it finishes, and the stage fails if either does.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

race=("$@")
mapfile -t all < <("$GO" list ./...)
declare -A skip
for p in "${race[@]}"; do skip[$("$GO" list "$p")]=1; done
plain=()
for p in "${all[@]}"; do [[ -n ${skip[$p]:-} ]] || plain+=("$p"); done

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
start=$SECONDS
"$GO" test -race -count=1 -timeout 10m "${race[@]}" >"$log/race" 2>&1 &
racepid=$!
"$GO" test -count=1 -timeout 20m "${plain[@]}" 2>&1 | tee "$log/plain"
plain_rc=${PIPESTATUS[0]}
wait "$racepid"
race_rc=$?
echo "--- go test -race ${race[*]}"
cat "$log/race"
echo "test.sh: tests took $((SECONDS - start)) s (plain: exit $plain_rc, race: exit $race_rc)"
[[ $plain_rc -eq 0 && $race_rc -eq 0 ]]
