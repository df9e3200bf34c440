# lib.sh - what the command-line test scripts share. Source it after
# `set -u`; it makes a temporary directory, moves into it and removes it
# (and stops every server started here) on exit.
#
#   start_mock NAME ARGS...  starts ampload-mock ($mock) on a free loopback
#                            port with ARGS; sets $url (http:// or https://);
#                            it stops by itself after $MOCK_LIFETIME s (120)
#   ok / bad MESSAGE...      count a passed / failed check (bad prints it)
#   finish                   prints "N passed, M failed"; fails if any failed

tmp=$(mktemp -d)
cd "$tmp" || exit 1
pass=0
fail=0
_pids=()
trap 'kill "${_pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT

start_mock() {
    local name=$1
    shift
    "$mock" --port 0 --exit-after "${MOCK_LIFETIME:-120}" "$@" >"$name.out" 2>"$name.err" &
    _pids+=($!)
    for _ in $(seq 50); do grep -q listening "$name.out" && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(https\{0,1\}:[^ ]*\).*/\1/p' "$name.out")
    [ -n "$url" ] || { echo "FAIL: ampload-mock did not start: $(cat "$name.err")"; exit 1; }
}

# track PID: stop this process too on exit (a loader left running by a failure)
track() {
    _pids+=("$1")
}

ok() {
    pass=$((pass + 1))
}

bad() {
    echo "FAIL: $*"
    fail=$((fail + 1))
}

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
