'use strict';
// Shared helpers for the S3 test tools: URI encoding rules of S3 SigV4 and a
// factory for AWS's own signer (@smithy/signature-v4 + @aws-crypto/sha256-js).
//
// S3 specifics (see README.md):
//  - the canonical URI is the path URI-encoded ONCE (RFC 3986 unreserved
//    characters A-Z a-z 0-9 - . _ ~ kept, '/' kept, every other byte of the
//    UTF-8 key as %XX with upper-case hex); no dot-segment or '//' removal.
//    The signer is therefore built with uriEscapePath:false and handed the
//    already-encoded path: with that option it uses request.path verbatim.
//  - query keys and values are handed to the signer decoded; it encodes them
//    with the same rule ('/' is encoded as %2F there, space as %20, never '+').

const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

// AWS UriEncode of a string (UTF-8), optionally keeping '/'.
function uriEncode(str, keepSlash) {
  const enc = encodeURIComponent(str).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
  return keepSlash ? enc.replace(/%2F/g, '/') : enc;
}

// Percent-decode once. `raw` is a request target as Node gives it (latin1:
// one char per byte). Returns the decoded UTF-8 string, or null if a '%' is
// not followed by two hex digits.
function percentDecode(raw) {
  const bytes = Buffer.from(raw, 'latin1');
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x25) {
      const h = bytes.toString('latin1', i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) return null;
      out[n++] = parseInt(h, 16);
      i += 2;
    } else {
      out[n++] = b;
    }
  }
  return out.toString('utf8', 0, n);
}

// Canonical (S3) form of a raw, percent-encoded path.
function canonicalPath(rawPath) {
  const dec = percentDecode(rawPath);
  if (dec === null) return null;
  return uriEncode(dec, true);
}

// Parse a raw query string (without '?') into the map the signer wants:
// name -> decoded value (string), or array of values when repeated.
// Also reports which components were not sent in canonical encoding.
function parseRawQuery(rawQuery) {
  const query = {};
  const noncanonical = [];
  let bad = null;
  if (rawQuery) {
    for (const part of rawQuery.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const rk = eq < 0 ? part : part.slice(0, eq);
      const rv = eq < 0 ? '' : part.slice(eq + 1);
      const k = percentDecode(rk);
      const v = percentDecode(rv);
      if (k === null || v === null) {
        bad = part;
        continue;
      }
      if (uriEncode(k) !== rk || uriEncode(v) !== rv) noncanonical.push(part);
      if (Object.prototype.hasOwnProperty.call(query, k)) {
        query[k] = [].concat(query[k], v);
      } else {
        query[k] = v;
      }
    }
  }
  return { query, noncanonical, bad };
}

function makeSigner({ accessKeyId, secretAccessKey, sessionToken, region, applyChecksum = true }) {
  const credentials = { accessKeyId, secretAccessKey };
  if (sessionToken) credentials.sessionToken = sessionToken;
  return new SignatureV4({
    service: 's3',
    region,
    credentials,
    sha256: Sha256,
    uriEscapePath: false, // S3: path is encoded once, by the caller, not normalized
    applyChecksum,
  });
}

async function sha256Hex(data) {
  const h = new Sha256();
  h.update(data);
  return Buffer.from(await h.digest()).toString('hex');
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

// Build the encoded path for /bucket/key from unencoded bucket and key.
function objectPath(bucket, key) {
  return '/' + uriEncode(bucket, false) + (key === undefined ? '' : '/' + uriEncode(key, true));
}

// Build a raw query string in canonical encoding from [[k,v],...].
function buildQuery(pairs) {
  return pairs.map(([k, v]) => uriEncode(k) + '=' + uriEncode(v)).join('&');
}

// Sign a request described by an absolute URL (whose path and query are sent
// exactly as given). Returns the signed headers object (lower-case names).
async function signUrl({ method, url, headers = {}, body, accessKeyId, secretAccessKey,
  sessionToken, region = 'us-east-1', date, unsignedPayload = false, contentSha256 = true }) {
  // Split by hand: WHATWG URL would normalize the path.
  const m = /^(https?:)\/\/([^/?#]+)([^?#]*)(?:\?([^#]*))?/.exec(url);
  if (!m) throw new Error('bad url: ' + url);
  const [, protocol, host, rawPath, rawQuery = ''] = m;
  const hostname = host.replace(/:\d+$/, '');
  const port = /:(\d+)$/.exec(host);
  const { query } = parseRawQuery(rawQuery);
  const hdrs = { host };
  for (const [k, v] of Object.entries(headers)) hdrs[k.toLowerCase()] = v;
  if (contentSha256) {
    if (unsignedPayload) hdrs['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    else hdrs['x-amz-content-sha256'] = body ? await sha256Hex(body) : EMPTY_SHA256;
  }
  const signer = makeSigner({ accessKeyId, secretAccessKey, sessionToken, region,
    applyChecksum: contentSha256 });
  const signed = await signer.sign({
    method,
    protocol,
    hostname,
    port: port ? Number(port[1]) : undefined,
    path: canonicalPath(rawPath || '/'),
    query,
    headers: hdrs,
  }, { signingDate: date || new Date() });
  return signed.headers;
}

module.exports = {
  uriEncode, percentDecode, canonicalPath, parseRawQuery, makeSigner, sha256Hex,
  EMPTY_SHA256, objectPath, buildQuery, signUrl,
};
