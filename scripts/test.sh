#!/usr/bin/env bash
# make test's test stage: every package's tests once, those named on the
# command line (the concurrent packages) under -race and the others without.
# The -race run comes second, alone: beside the other run it slowed the
# contest's timing tests past their margins (TestAnswerTimedAfterResume).
# The stage fails if either run does.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

race=("$@")
mapfile -t all < <("$GO" list ./...)
declare -A skip
for p in "${race[@]}"; do skip[$("$GO" list "$p")]=1; done
plain=()
for p in "${all[@]}"; do [[ -n ${skip[$p]:-} ]] || plain+=("$p"); done

start=$SECONDS
"$GO" test -count=1 -timeout 20m "${plain[@]}"
plain_rc=$?
echo "--- go test -race ${race[*]}"
"$GO" test -race -count=1 -timeout 10m "${race[@]}"
race_rc=$?
echo "test.sh: tests took $((SECONDS - start)) s (plain: exit $plain_rc, race: exit $race_rc)"
[[ $plain_rc -eq 0 && $race_rc -eq 0 ]]
