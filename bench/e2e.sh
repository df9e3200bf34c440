#!/usr/bin/env bash
# bench/e2e.sh - end-to-end throughput, memory and allocations, sourced by
# bench/run.sh after its read-path table (it uses run.sh's variables: $data,
# $lines, $bytes, $repeat, $csv and the best_of helper).
#
# Sinks: ampload-mock --sink (counts requests, parses nothing) and, when
# nginx is installed, nginx answering a fixed 200 - an independent server.
# Baseline: scripts/baseline_loader.py, a stdlib Python loader working the
# way a typical Python driver does, into the same sink in the same run.

# anon_peak CMD...: runs CMD, samples its anonymous RSS every 50 ms, and
# sets $anon_mb to the peak; wall/CPU/RSS go to bench/out/time.txt.
anon_peak() {
    /usr/bin/time -f "%e %U %S %M" -o bench/out/time.txt "$@" >/dev/null 2>bench/out/stderr.txt &
    local tpid=$! pid="" peak=0 kb
    for _ in $(seq 100); do
        pid=$(pgrep -P "$tpid" | head -n 1)
        [ -n "$pid" ] && break
        sleep 0.01
    done
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
        kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
        sleep 0.05
    done
    wait "$tpid" || { echo "bench: $* failed:"; cat bench/out/stderr.txt; exit 1; }
    anon_mb=$((peak / 1024))
}

# e2e_row NAME THREADS CMD...: best of $repeat by wall time, with anon RSS.
e2e_rows=()
e2e_row() {
    local name=$1 threads=$2 best="" cpu="" rss="" anon=""
    shift 2
    for _ in $(seq "$repeat"); do
        anon_peak "$@"
        read -r wall user sys maxrss <bench/out/time.txt
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then
            best=$wall
            cpu=$(awk "BEGIN{print $user + $sys}")
            rss=$((maxrss / 1024))
            anon=$anon_mb
        fi
    done
    e2e_rows+=("$name,$threads,$best,$cpu,$rss,$anon")
}

start_mock_sink() {
    build/ampload-mock --port 0 --sink --exit-after 3600 >bench/out/sink.out 2>/dev/null &
    sink_pid=$!
    for _ in $(seq 50); do grep -q listening bench/out/sink.out && break; sleep 0.1; done
    sink_url="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' bench/out/sink.out)/batch"
}

start_nginx() {
    local d=$PWD/bench/out/nginx port
    command -v nginx >/dev/null || return 1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $d/tmp;
    client_max_body_size 64m;
    client_body_buffer_size 32m;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        location /batch { return 200 '{"code":200,"events_ingested":0}'; }
    }
}
CONF
    nginx -c "$d/nginx.conf" -p "$d" &
    nginx_pid=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null -X POST "http://127.0.0.1:$port/batch" -d '{}' && break
        sleep 0.1
    done
    nginx_url="http://127.0.0.1:$port/batch"
}

stop_servers() {
    [ -n "${sink_pid:-}" ] && kill "$sink_pid" 2>/dev/null
    [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null
    wait 2>/dev/null
    true
}
trap stop_servers EXIT

export AMPLITUDE_API_KEY=bench-key
state=bench/out/state-e2e
start_mock_sink
sinks=("ampload-mock --sink|$sink_url")
if start_nginx; then sinks+=("nginx (fixed 200)|$nginx_url"); fi

for s in "${sinks[@]}"; do
    sname=${s%%|*}
    url=${s#*|}
    for t in 1 2; do
        e2e_row "ampload plain -> $sname" $t build/ampload -q --restart --threads $t \
            --state $state --endpoint "$url" "$data"
    done
    e2e_row "ampload zstd -> $sname" 2 build/ampload -q --restart --threads 2 \
        --state $state --endpoint "$url" "$data.zst"
    e2e_row "ampload plain --gzip -> $sname" 2 build/ampload -q --restart --threads 2 --gzip \
        --state $state --endpoint "$url" "$data"
    if command -v python3 >/dev/null; then
        # one run: it is slow, and the ratio is what matters
        repeat_saved=$repeat
        repeat=1
        e2e_row "python baseline -> $sname" 1 python3 scripts/baseline_loader.py "$url" "$data"
        repeat=$repeat_saved
    fi
done

printf '\nEnd to end into a local sink (best of %d; python baseline: 1 run)\n\n' "$repeat"
printf '%-36s %7s %8s %12s %8s %8s %7s %8s %9s\n' configuration threads seconds events/s MB/s \
    "vs py" "CPU s" "RSS MB" "anon MB"
declare -A py_s
for r in "${e2e_rows[@]}"; do
    IFS=, read -r name threads secs cpu rss anon <<<"$r"
    case $name in python*) py_s[${name#python baseline -> }]=$secs ;; esac
done
for r in "${e2e_rows[@]}"; do
    IFS=, read -r name threads secs cpu rss anon <<<"$r"
    eps=$(awk "BEGIN{printf \"%.0f\", $lines / $secs}")
    mbs=$(awk "BEGIN{printf \"%.0f\", $bytes / $secs / 1e6}")
    sink=${name##*-> }
    ratio=$(awk "BEGIN{p=\"${py_s[$sink]:-0}\"; if (p>0) printf \"%.1f\", p / $secs; else print \"-\"}")
    printf '%-36s %7s %8s %12s %8s %8s %7s %8s %9s\n' "$name" "$threads" "$secs" "$eps" "$mbs" \
        "$ratio" "$cpu" "$rss" "$anon"
    echo "e2e,$name,$threads,$secs,$eps,$mbs,$ratio,$cpu,$rss,$anon" >>"$csv"
done

# Allocations must not grow with the number of events.
head -n $((lines / 4)) "$data" >bench/out/quarter.ndjson
for f in bench/out/quarter.ndjson "$data"; do
    n=$(wc -l <"$f")
    a=$(LD_PRELOAD=$PWD/build/bench/libmalloc_count.so build/ampload -q --restart --threads 2 \
        --state $state --endpoint "$sink_url" "$f" 2>&1 | sed -n 's/allocations=//p')
    printf 'allocations sending %9d events: %6d (%.5f per event)\n' "$n" "$a" \
        "$(awk "BEGIN{print $a / $n}")"
    echo "alloc,$n events,2,,,,,,,$a" >>"$csv"
done
rm -f bench/out/quarter.ndjson
