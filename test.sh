#!/usr/bin/env bash
# The one test command: formatting, vet, every test under the race detector,
# and a short run of every fuzz target. CI runs exactly this (.ci/run).
#
#   ./test.sh                 everything
#   FUZZTIME=1m ./test.sh     longer fuzzing
set -euo pipefail
cd "$(dirname "$0")"

fuzztime=${FUZZTIME:-5s}

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"
	echo "$unformatted"
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...

echo "== fuzz (${fuzztime} each)"
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "-- $pkg $target"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
	done
done
echo "== all checks passed"
