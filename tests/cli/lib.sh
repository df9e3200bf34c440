# lib.sh - what the command-line test scripts share. Source it after
# `set -u`; it makes a temporary directory, moves into it and removes it
# (and stops every server started here) on exit.
#
#   start_mock NAME ARGS...  starts ampload-mock ($mock) on a free loopback
#                            port with ARGS; sets $url (http:// or https://);
#                            it stops by itself after $MOCK_LIFETIME s (120)
#   ok / bad MESSAGE...      count a passed / failed check (bad prints it)
#   same_events A B          the record files A and B hold the same events
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

# same_events A B: the two record files hold the same events, field by field,
# apart from event_id (an export adds it and the re-import mapping keeps it)
same_events() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
def events(path):
    out = []
    for line in open(path):
        e = json.loads(line)
        e.pop("event_id", None)
        out.append(json.dumps(e, sort_keys=True))
    return sorted(out)
a, b = events(sys.argv[1]), events(sys.argv[2])
if a != b:
    print("%s has %d events, %s %d; first difference:" % (sys.argv[1], len(a), sys.argv[2], len(b)))
    print(" ", sorted(set(a) - set(b))[:1])
    print(" ", sorted(set(b) - set(a))[:1])
    sys.exit(1)
EOF
}

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
