#!/usr/bin/env bash
# bench/throttle.sh - un-throttled ids keep flowing while one id is throttled.
# Sourced by bench/run.sh. Two loads of the same input (200,000 events, 2 % of
# them from one hot user) into ampload-mock (parsing, validating, recording
# nothing): without throttling, then with --eps-per-id 200. The figure is the
# share of events the throttled run had delivered by the time the
# unthrottled run had finished; the hot user's events wait 5 s each time they
# are throttled, so they alone cannot be on time.

tdata=bench/out/throttle.ndjson
build/gen-events -n 200000 --seed 5 -o "$tdata.tmp"
awk 'NR % 50 == 0 { sub(/"user_id":"[^"]*"/, "\"user_id\":\"hot-user-000001\"") } { print }' \
    "$tdata.tmp" >"$tdata"
rm -f "$tdata.tmp"
hot=$(grep -c hot-user-000001 "$tdata")
total=$(wc -l <"$tdata")

throttle_run() { # throttle_run LABEL MOCK-ARGS...: sets $secs and bench/out/accepted.txt
    local label=$1 t0 url
    shift
    build/ampload-mock --port 0 --exit-after 600 "$@" >bench/out/tmock.out 2>/dev/null &
    local mpid=$!
    for _ in $(seq 50); do grep -q listening bench/out/tmock.out && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' bench/out/tmock.out)
    t0=$(date +%s.%N)
    build/ampload -q --restart --state bench/out/state-throttle --throttle-wait 5 \
        --endpoint "$url/batch" "$tdata" &
    local apid=$!
    : >bench/out/accepted.txt
    while kill -0 $apid 2>/dev/null; do
        printf '%s %s\n' "$(awk "BEGIN{print $(date +%s.%N) - $t0}")" \
            "$(curl -s "$url/stats" | sed -n 's/.*"accepted":\([0-9]*\).*/\1/p')" >>bench/out/accepted.txt
        sleep 0.2
    done
    wait $apid
    secs=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t0}")
    kill $mpid 2>/dev/null
    wait $mpid 2>/dev/null
    echo "throttle,$label,2,$secs,$(awk "BEGIN{printf \"%.0f\", $total / $secs}"),,,,," >>"$csv"
}

throttle_run "no throttling"
base_s=$secs
throttle_run "hot user throttled (--eps-per-id 200)" --eps-per-id 200 --eps-window 1
by_then=$(awk -v t="$base_s" '$1 <= t && $2 != "" { a = $2 } END { print a + 0 }' bench/out/accepted.txt)
cold=$((total - hot))
printf '\nThrottling: %d events, %d of them from one hot user\n' "$total" "$hot"
printf '  without throttling: all delivered in %s s\n' "$base_s"
printf '  with the hot user throttled: %s s in all (its events wait), and by %s s\n' "$secs" "$base_s"
printf '  %d events were delivered: %.1f %% of the %d un-throttled events\n' "$by_then" \
    "$(awk "BEGIN{print 100 * $by_then / $cold}")" "$cold"
echo "throttle,delivered by the unthrottled time,2,$base_s,$by_then,,$(awk "BEGIN{printf \"%.3f\", $by_then / $cold}"),,," >>"$csv"
