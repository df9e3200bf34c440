#!/usr/bin/env node
'use strict';
// Wrapper around s3rver 3.7.1 (the S3 implementation behind front.js).
//
//   node s3rver.js --directory DIR --port 0 --address 127.0.0.1
//                  [--access-key AKID --secret-key SECRET] [--max-lifetime S]
//
// Prints one line `s3rver listening on http://ADDR:PORT` when ready.
// Credentials default to env S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY.
//
// Three patches of s3rver are applied here, before it is loaded:
//  1. s3rver makes ListObjectsV2 continuation tokens with DES, which the
//     OpenSSL 3 of Node >= 17 refuses (ERR_OSSL_EVP_UNSUPPORTED), so every
//     truncated listing failed with 500. 'des' (DES-CBC) is mapped to
//     DES-EDE3-CBC with the key repeated three times, which is the same cipher.
//  2. s3rver lists keys in directory-walk order but pages with
//     `key <= startAfter`, so keys were lost across pages whenever the walk
//     order differed from key order (e.g. "a" vs "a-b", "a/x" vs "a-b").
//     The walk is replaced by one that yields files sorted by key in UTF-8
//     byte order, which is the order of real S3.
//  3. s3rver rejects an Authorization header whose access key it does not
//     know (it does not check SigV4 signatures at all). The test key pair is
//     registered with its dummy account so front.js can forward unchanged.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

// --- patch 1: DES
for (const fn of ['createCipheriv', 'createDecipheriv']) {
  const orig = crypto[fn];
  crypto[fn] = function (alg, key, iv, opts) {
    if (typeof alg === 'string' && alg.toLowerCase() === 'des') {
      const k = Buffer.from(key);
      return orig.call(crypto, 'des-ede3-cbc', Buffer.concat([k, k, k]), iv, opts);
    }
    return orig.call(crypto, alg, key, iv, opts);
  };
}

// --- patch 2: sorted walk (must happen before lib/stores/filesystem.js loads)
const SUFFIX = '._S3rver_object';
const utils = require('s3rver/lib/utils');
utils.walk = function* walkSorted(dir) {
  const files = [];
  (function collect(d) {
    for (const name of fs.readdirSync(d)) {
      const p = path.posix.join(d, name);
      if (fs.statSync(p).isDirectory()) collect(p);
      else files.push(p);
    }
  })(dir);
  const sortKey = (p) => Buffer.from(p.endsWith(SUFFIX) ? p.slice(0, -SUFFIX.length) : p);
  const keyed = files.map((p) => [sortKey(p), p]);
  keyed.sort((a, b) => Buffer.compare(a[0], b[0]));
  for (const [, p] of keyed) yield p;
};

const S3rver = require('s3rver');

// --- patch 3: test credentials
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');
const accessKey = arg('access-key', process.env.S3_TEST_ACCESS_KEY || 'AKIDTEST');
const secretKey = arg('secret-key', process.env.S3_TEST_SECRET_KEY || 'test-secret-key');
DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

const directory = arg('directory');
if (!directory) {
  process.stderr.write('usage: node s3rver.js --directory DIR [--port 0] [--address 127.0.0.1]\n');
  process.exit(2);
}
fs.mkdirSync(directory, { recursive: true });

const server = new S3rver({
  port: Number(arg('port', '0')),
  address: arg('address', '127.0.0.1'),
  directory,
  silent: true,
  vhostBuckets: false,
});

let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  const t = setTimeout(() => process.exit(0), 2000);
  t.unref();
  server.close().then(() => process.exit(0), () => process.exit(0));
  if (server.httpServer && server.httpServer.closeAllConnections) server.httpServer.closeAllConnections();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

const lifetime = Number(arg('max-lifetime', '0'));
if (lifetime > 0) setTimeout(shutdown, lifetime * 1000).unref();

server.run().then(
  (addr) => {
    process.stdout.write(`s3rver listening on http://${addr.address}:${addr.port}\n`);
  },
  (err) => {
    process.stderr.write(`s3rver failed to start: ${err && err.stack}\n`);
    process.exit(1);
  },
);
