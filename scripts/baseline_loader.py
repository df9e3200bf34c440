#!/usr/bin/env python3
"""baseline_loader.py - a loader written the way a typical Python Amplitude
driver works, as the baseline that bench/run.sh measures ampload against.

Standard library only: each line is parsed with json.loads, events are
collected into 2000-event batches, each batch is serialised with json.dumps
and POSTed on one persistent HTTP connection, one request at a time, waiting
for each answer (what a requests.Session loop does).

Usage: baseline_loader.py URL FILE [API_KEY]
Prints: events=N seconds=S events_per_s=R
"""
import http.client
import json
import sys
import time
import urllib.parse


def main():
    url, path = sys.argv[1], sys.argv[2]
    key = sys.argv[3] if len(sys.argv) > 3 else "baseline-key"
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
    headers = {"Content-Type": "application/json"}
    sent = 0
    batch = []
    t0 = time.monotonic()

    def post(events):
        body = json.dumps({"api_key": key, "events": events,
                           "options": {"min_id_length": 5}})
        conn.request("POST", u.path or "/batch", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit("HTTP %d" % resp.status)

    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            batch.append(event)
            if len(batch) == 2000:
                post(batch)
                sent += len(batch)
                batch = []
    if batch:
        post(batch)
        sent += len(batch)
    elapsed = time.monotonic() - t0
    print("events=%d seconds=%.3f events_per_s=%.0f" % (sent, elapsed, sent / elapsed))


if __name__ == "__main__":
    main()
