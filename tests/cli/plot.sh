#!/usr/bin/env bash
# plot.sh - scripts/plot-report draws a PNG from a real run's report and
# audit file, and explains itself when the report has nothing to draw.
# Usage: plot.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS PLOT_REPORT
set -u
bin=$1 mock=$2 gen=$3 plot=$4
command -v gnuplot >/dev/null || { echo "gnuplot missing: 0 passed, 0 failed"; exit 0; }
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
start_mock mock --eps-per-id 300 --eps-window 1
"$gen" -n 6000 --seed 2 | awk 'NR % 20 == 0 { sub(/"user_id":"[^"]*"/, "\"user_id\":\"hot-user-1\"") } { print }' >in.ndjson
AMPLITUDE_API_KEY=k "$bin" -q --endpoint "$url/batch" --state st --throttle-wait 1 \
    --batch-events 300 --report r.json --audit a.ndjson in.ndjson
"$plot" r.json a.ndjson out.png >/dev/null
if [ "$(head -c 8 out.png | od -An -tx1 | tr -d ' ')" = "89504e470d0a1a0a" ]; then
    pass=$((pass + 1))
else
    echo "FAIL: no PNG drawn"; fail=$((fail + 1))
fi
"$bin" -q --dry-run --state st2 --report dry.json in.ndjson
if "$plot" dry.json 2>err.txt; then
    echo "FAIL: a dry-run report was drawn"; fail=$((fail + 1))
elif grep -q "no events_acked_per_second" err.txt; then
    pass=$((pass + 1))
else
    echo "FAIL: unclear message: $(cat err.txt)"; fail=$((fail + 1))
fi
finish
