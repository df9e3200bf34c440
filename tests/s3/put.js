#!/usr/bin/env node
'use strict';
// Upload helper for tests, signing with AWS's SigV4 signer (passes front.js).
//
//   node put.js --endpoint http://127.0.0.1:PORT [--create-bucket B]
//               [--bucket B --key KEY --file PATH] [--content-type T]
//               [--access-key K] [--secret-key S] [--region R] [--session-token T]
//
// KEY is the plain (unencoded) object key; any UTF-8, '#', ' ', '+' is fine.
// Credentials default to env S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY
// (AKIDTEST / test-secret-key). Several --key/--file pairs may be given.
// Prints one line per action; exits non-zero on any non-2xx answer.

const fs = require('fs');
const http = require('http');
const { signUrl, objectPath } = require('./sigv4');

const args = process.argv.slice(2);
const opt = { keys: [], files: [] };
for (let i = 0; i < args.length; i += 2) {
  const k = args[i].replace(/^--/, '');
  const v = args[i + 1];
  if (v === undefined) fail(`missing value for ${args[i]}`);
  if (k === 'key') opt.keys.push(v);
  else if (k === 'file') opt.files.push(v);
  else opt[k] = v;
}
function fail(msg) {
  process.stderr.write(`put.js: ${msg}\n`);
  process.exit(2);
}
if (!opt.endpoint) fail('--endpoint is required');
if (opt.keys.length !== opt.files.length) fail('each --key needs a --file');
if (opt.keys.length && !opt.bucket) fail('--bucket is required with --key');
const endpoint = opt.endpoint.replace(/\/+$/, '');
const creds = {
  accessKeyId: opt['access-key'] || process.env.S3_TEST_ACCESS_KEY || 'AKIDTEST',
  secretAccessKey: opt['secret-key'] || process.env.S3_TEST_SECRET_KEY || 'test-secret-key',
  sessionToken: opt['session-token'] || process.env.S3_TEST_SESSION_TOKEN || undefined,
  region: opt.region || process.env.S3_TEST_REGION || 'us-east-1',
};

async function put(path, body, extraHeaders) {
  const url = endpoint + path;
  const headers = await signUrl({ method: 'PUT', url, body, headers: extraHeaders, ...creds });
  headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const u = new URL(endpoint);
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'PUT', headers,
      timeout: 30000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, etag: res.headers.etag,
        body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

(async () => {
  let bad = 0;
  if (opt['create-bucket']) {
    const r = await put(objectPath(opt['create-bucket']), Buffer.alloc(0));
    console.log(`create-bucket ${opt['create-bucket']}: ${r.status}`);
    if (r.status >= 300) { bad++; process.stderr.write(r.body + '\n'); }
  }
  for (let i = 0; i < opt.keys.length; i++) {
    const body = fs.readFileSync(opt.files[i]);
    const extra = opt['content-type'] ? { 'content-type': opt['content-type'] } : {};
    const r = await put(objectPath(opt.bucket, opt.keys[i]), body, extra);
    console.log(`put ${opt.bucket}/${opt.keys[i]} (${body.length} bytes): ${r.status} ${r.etag || ''}`);
    if (r.status >= 300) { bad++; process.stderr.write(r.body + '\n'); }
  }
  process.exit(bad ? 1 : 0);
})().catch((e) => { process.stderr.write(`put.js: ${e.stack}\n`); process.exit(1); });
