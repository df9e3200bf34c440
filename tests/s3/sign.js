#!/usr/bin/env node
'use strict';
// Print curl arguments for a SigV4-signed S3 request (AWS's signer).
//
//   node sign.js --endpoint http://127.0.0.1:PORT --bucket B [--key KEY]
//                [--query NAME=VALUE]... [--method GET] [--range bytes=0-9]
//                [--header 'Name: value']... [--access-key K] [--secret-key S]
//                [--region R] [--session-token T] [--date ISO8601]
//                [--no-content-sha256] [--unsigned-payload] [--body-file PATH]
//   node sign.js --url 'http://127.0.0.1:PORT/b/enc%23oded?list-type=2' ...
//
// KEY and query values are plain (unencoded); sign.js encodes them the S3 way.
// With --url, the URL is used as given (already encoded).
// Output: one curl argument per line (-X METHOD, -H 'Header: value' pairs,
// then the URL last), for `mapfile -t A < <(node sign.js ...); curl "${A[@]}"`.

const fs = require('fs');
const { signUrl, objectPath, buildQuery } = require('./sigv4');

const args = process.argv.slice(2);
const opt = { query: [], header: [] };
const BOOL = new Set(['no-content-sha256', 'unsigned-payload']);
for (let i = 0; i < args.length; i++) {
  const k = args[i].replace(/^--/, '');
  if (BOOL.has(k)) { opt[k] = true; continue; }
  const v = args[++i];
  if (v === undefined) fail(`missing value for --${k}`);
  if (k === 'query' || k === 'header') opt[k].push(v);
  else opt[k] = v;
}
function fail(msg) {
  process.stderr.write(`sign.js: ${msg}\n`);
  process.exit(2);
}

let url = opt.url;
if (!url) {
  if (!opt.endpoint || !opt.bucket) fail('need --url, or --endpoint and --bucket');
  const pairs = opt.query.map((q) => {
    const eq = q.indexOf('=');
    return eq < 0 ? [q, ''] : [q.slice(0, eq), q.slice(eq + 1)];
  });
  url = opt.endpoint.replace(/\/+$/, '') + objectPath(opt.bucket, opt.key) +
    (pairs.length ? '?' + buildQuery(pairs) : '');
}
const method = (opt.method || 'GET').toUpperCase();
const headers = {};
for (const h of opt.header) {
  const c = h.indexOf(':');
  if (c < 0) fail(`bad --header ${h}`);
  headers[h.slice(0, c).trim().toLowerCase()] = h.slice(c + 1).trim();
}
if (opt.range) headers.range = opt.range;

signUrl({
  method,
  url,
  headers,
  body: opt['body-file'] ? fs.readFileSync(opt['body-file']) : undefined,
  accessKeyId: opt['access-key'] || process.env.S3_TEST_ACCESS_KEY || 'AKIDTEST',
  secretAccessKey: opt['secret-key'] || process.env.S3_TEST_SECRET_KEY || 'test-secret-key',
  sessionToken: opt['session-token'] || process.env.S3_TEST_SESSION_TOKEN || undefined,
  region: opt.region || process.env.S3_TEST_REGION || 'us-east-1',
  date: opt.date ? new Date(opt.date) : undefined,
  contentSha256: !opt['no-content-sha256'],
  unsignedPayload: !!opt['unsigned-payload'],
}).then((signed) => {
  const out = method === 'HEAD' ? ['-I'] : ['-X', method];
  for (const [k, v] of Object.entries(signed)) {
    if (k === 'host') continue; // curl sends the same Host itself
    out.push('-H', `${k}: ${v}`);
  }
  if (opt['body-file']) out.push('--data-binary', '@' + opt['body-file']);
  out.push(url);
  process.stdout.write(out.join('\n') + '\n');
}, (e) => fail(e.stack));
