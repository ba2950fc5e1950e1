#!/usr/bin/env bash
# The test suite: formatting, vet, every test with the race detector
# (real PostgreSQL clusters, real HTTP/SSE/WebSocket clients, headless
# Chromium), then a short run of every fuzz target.
set -euo pipefail
trap 'echo "test.sh: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."

scripts/deps.sh

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
# pgcdc builds wherever users build it (throwaway clusters and the other
# processes' figures in the benchmarks are Linux-only, with a clear error).
for goos in darwin windows; do
  GOOS=$goos go build -o /dev/null ./cmd/pgcdc
done
go test -race -count=1 -timeout 20m ./...
# The alert rules and the Grafana dashboard, loaded with Prometheus' own
# libraries in a module of their own (they stay out of pgcdc's go.mod).
(cd examples/monitoring && go vet ./... && go test -count=1 ./...)

# Short fuzz runs (go test -fuzz takes one target at a time). A run that
# ends with "context deadline exceeded" and writes no failing input is Go's
# fuzz coordinator racing the -fuzztime deadline (golang/go#75804, fixed in
# Go 1.27): it is run once more; a real failure always writes its input to
# testdata/fuzz/<target>/ and fails the suite.
fuzztime=${FUZZTIME:-3s}
# The inputs saved for a target (none when its corpus directory does not
# exist: under pipefail a bare "ls dir | sort" would end the script).
corpus_files() { if [ -d "$1" ]; then ls "$1" | sort; fi; }
for target in $(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' . | sed 's/^func //' | sort -u); do
  pkg=$(dirname "$(grep -rlE "^func ${target}\(" --include='*_test.go' . | sort | sed -n 1p)")
  corpus="${pkg}/testdata/fuzz/${target}"
  for try in 1 2; do
    before=$(corpus_files "$corpus")
    echo "fuzz ${pkg} ${target} (${fuzztime})"
    if out=$(go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" 2>&1); then
      break
    fi
    after=$(corpus_files "$corpus")
    if [ "$try" = 1 ] && [ "$before" = "$after" ] && echo "$out" | grep -q 'context deadline exceeded'; then
      echo "fuzz ${target}: the fuzz coordinator's deadline race (golang/go#75804), no failing input written; running it again"
      continue
    fi
    echo "$out" | tail -40
    echo "fuzz target ${target} failed; the failing input is in ${corpus}/"
    exit 1
  done
done
echo "all tests passed"
