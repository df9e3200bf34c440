#!/usr/bin/env bash
# Stop what tests/s3/start.sh DIR started: only the pids in DIR/*.pid.
set -u
dir=${1:?usage: stop.sh DIR}
rc=0
for name in front s3rver; do
  pf="$dir/$name.pid"
  [ -f "$pf" ] || continue
  pid=$(cat "$pf")
  # only signal it if it still is our node process (pids get reused)
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$name.js"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "stop.sh: $name ($pid) ignored SIGTERM; killing" >&2
      kill -KILL "$pid" 2>/dev/null
      rc=1
    fi
  fi
  rm -f "$pf"
done
exit $rc
