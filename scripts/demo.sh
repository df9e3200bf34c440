#!/usr/bin/env bash
# demo.sh - set up, then run ampload's main job on the embedded default:
# start ampload-mock on a free loopback port, run the preflight checklist
# (ampload check), load data-samples/ into it (plain, zstd, and a file of bad
# lines), then show the summary, the report, what the server recorded and the
# first rejected lines.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
state=.ampload/demo
rm -rf "$state"
mkdir -p "$state"

build/ampload-mock --port 0 --exit-after 120 --record "$state/server-record.ndjson" \
    >"$state/mock.out" 2>"$state/mock.err" &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$state/mock.out" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$state/mock.out")
echo "demo: ampload-mock is listening on $url"

samples=(data-samples/events.ndjson data-samples/events.ndjson.zst data-samples/bad-lines.ndjson)
export AMPLITUDE_API_KEY=demo-key
echo
build/ampload check --endpoint "$url/batch" --state "$state" "${samples[@]}"
echo
set +e
build/ampload --endpoint "$url/batch" --state "$state" \
    --report "$state/report.json" "${samples[@]}"
rc=$?
set -e
echo
echo "server counters ($url/stats):"
curl -s "$url/stats" || true
echo
echo
echo "report ($state/report.json):"
cat "$state/report.json"
echo
echo "events the server accepted: $(wc -l <"$state/server-record.ndjson") (in $state/server-record.ndjson)"
echo "first rejected lines ($state/rejected.ndjson):"
head -n 5 "$state/rejected.ndjson" | cut -c1-160
exit $rc
