#!/usr/bin/env bash
# demo.sh - set up, then run ampload's main job on the bundled samples:
# validate and batch data-samples/ (plain, zstd and a file of bad lines),
# print the summary, the report and the first rejected lines.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
state=.ampload/demo
rm -rf "$state"
set +e
build/ampload --dry-run --state "$state" --report "$state/report.json" \
    data-samples/events.ndjson data-samples/events.ndjson.zst data-samples/bad-lines.ndjson
rc=$?
set -e
echo
echo "report ($state/report.json):"
cat "$state/report.json"
echo
echo "first rejected lines ($state/rejected.ndjson):"
head -n 5 "$state/rejected.ndjson" | cut -c1-160
exit $rc
