#!/usr/bin/env bash
# Start s3rver (via s3rver.js) and the SigV4-verifying front.js before it.
#   tests/s3/start.sh DIR [extra front.js flags...]
# Writes DIR/s3rver.pid, DIR/front.pid, DIR/front.port, DIR/s3rver.port;
# logs: DIR/front.log (JSON lines), DIR/*.out, DIR/*.err. Objects: DIR/data.
# Env: S3_TEST_ACCESS_KEY (AKIDTEST), S3_TEST_SECRET_KEY (test-secret-key),
#      S3_TEST_REGION (us-east-1), S3_TEST_LIFETIME (3600: both servers exit
#      by themselves after this many seconds, so nothing outlives a crashed test).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${1:?usage: start.sh DIR [front.js flags...]}
shift
mkdir -p "$dir/data" || exit 1
dir=$(cd "$dir" && pwd)
ak=${S3_TEST_ACCESS_KEY:-AKIDTEST}
sk=${S3_TEST_SECRET_KEY:-test-secret-key}
region=${S3_TEST_REGION:-us-east-1}
life=${S3_TEST_LIFETIME:-3600}

if [ ! -d "$here/node_modules/s3rver" ] || [ ! -d "$here/node_modules/@smithy/signature-v4" ]; then
  echo "start.sh: missing node_modules; run: npm ci --prefix tests/s3 --no-audit --no-fund" >&2
  exit 1
fi

# wait_line FILE PATTERN PID -> prints the matching line; 20 s bound overall
deadline=$(( $(date +%s) + 20 ))
wait_line() {
  local f=$1 pat=$2 pid=$3 line
  while :; do
    line=$(grep -m1 -E "$pat" "$f" 2>/dev/null) && { echo "$line"; return 0; }
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}
fail() {
  echo "start.sh: $1" >&2
  for f in "$dir"/front.err "$dir"/s3rver.err; do
    [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  for p in "$dir"/front.pid "$dir"/s3rver.pid; do
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
    rm -f "$p"
  done
  exit 1
}

: > "$dir/s3rver.out"
node "$here/s3rver.js" --directory "$dir/data" --port 0 --address 127.0.0.1 \
  --access-key "$ak" --secret-key "$sk" --max-lifetime "$life" \
  >"$dir/s3rver.out" 2>"$dir/s3rver.err" </dev/null &
echo $! > "$dir/s3rver.pid"
line=$(wait_line "$dir/s3rver.out" '^s3rver listening on ' "$(cat "$dir/s3rver.pid")") ||
  fail "s3rver did not start"
up=${line##*http://}
echo "${up##*:}" > "$dir/s3rver.port"

: > "$dir/front.out"
node "$here/front.js" --port 0 --upstream "$up" --access-key "$ak" --secret-key "$sk" \
  --region "$region" --log "$dir/front.log" --max-lifetime "$life" "$@" \
  >"$dir/front.out" 2>"$dir/front.err" </dev/null &
echo $! > "$dir/front.pid"
line=$(wait_line "$dir/front.out" '^s3-front listening on ' "$(cat "$dir/front.pid")") ||
  fail "front.js did not start"
port=${line##*:}
echo "$port" > "$dir/front.port"
echo "s3 test endpoint: http://127.0.0.1:$port (s3rver at $up, dir $dir)"
