#!/usr/bin/env node
'use strict';
// SigV4-verifying front for s3rver. See README.md.
//
//   node front.js --port 0 --upstream 127.0.0.1:UPSTREAMPORT --access-key AKID
//     --secret-key SECRET [--region us-east-1] [--log FILE] [--session-token T]
//     [--strict-encoding] [--max-lifetime S] [--max-body BYTES]
//     [--slowdown-first N] [--fail500-first N] [--reset-after BYTES]
//     [--stall-after BYTES --stall-ms MS] [--etag-change-after N] [--max-keys N]
//
// Every request must carry a valid AWS4-HMAC-SHA256 Authorization header; the
// signature is recomputed with AWS's signer (@smithy/signature-v4) and
// compared. Valid requests are forwarded to s3rver and the answer is streamed
// back (ranges are served by front.js from an open-ended upstream range,
// because s3rver gets `bytes=0-0`, `bytes=-N` and empty objects wrong).

const http = require('http');
const fs = require('fs');
const crypto = require('crypto');
const { getCanonicalHeaders, prepareRequest } = require('@smithy/signature-v4');
const {
  makeSigner, canonicalPath, parseRawQuery, sha256Hex, percentDecode,
} = require('./sigv4');

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opts = {};
const FLAGS = new Set(['strict-encoding']);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith('--')) die(`unexpected argument ${a}`);
  const name = a.slice(2);
  if (FLAGS.has(name)) opts[name] = true;
  else if (i + 1 < argv.length) opts[name] = argv[++i];
  else die(`missing value for ${a}`);
}
const KNOWN = ['port', 'upstream', 'access-key', 'secret-key', 'region', 'log', 'session-token',
  'strict-encoding', 'max-lifetime', 'max-body', 'slowdown-first', 'fail500-first',
  'reset-after', 'stall-after', 'stall-ms', 'etag-change-after', 'skew-limit-s', 'max-keys'];
for (const k of Object.keys(opts)) if (!KNOWN.includes(k)) die(`unknown option --${k}`);
for (const k of ['upstream', 'access-key', 'secret-key']) if (!opts[k]) die(`--${k} is required`);

function die(msg) {
  process.stderr.write(`front.js: ${msg}\n`);
  process.exit(2);
}
function intOpt(name, def) {
  if (opts[name] === undefined) return def;
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 0) die(`--${name} needs a non-negative integer`);
  return n;
}

const PORT = intOpt('port', 0);
const [UP_HOST, UP_PORT] = (() => {
  const m = /^([^:]+):(\d+)$/.exec(opts.upstream);
  if (!m) die('--upstream must be HOST:PORT');
  return [m[1], Number(m[2])];
})();
const ACCESS_KEY = opts['access-key'];
const SECRET_KEY = opts['secret-key'];
const REGION = opts.region || 'us-east-1';
const SESSION_TOKEN = opts['session-token'];
const STRICT = !!opts['strict-encoding'];
const MAX_BODY = intOpt('max-body', 1 << 30);
const SKEW_MS = intOpt('skew-limit-s', 900) * 1000;
const fault = {
  slowdown: intOpt('slowdown-first', 0),
  fail500: intOpt('fail500-first', 0),
  resetAfter: opts['reset-after'] !== undefined ? intOpt('reset-after') : null,
  stallAfter: opts['stall-after'] !== undefined ? intOpt('stall-after') : null,
  stallMs: intOpt('stall-ms', 0),
  etagChangeAfter: opts['etag-change-after'] !== undefined ? intOpt('etag-change-after') : null,
};
const state = { objectGets: 0, okObjectGets: 0, resetDone: false, stallDone: false };

const signer = makeSigner({
  accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, sessionToken: SESSION_TOKEN, region: REGION,
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

// ---------------------------------------------------------------- logging
const logFd = opts.log ? fs.openSync(opts.log, 'a') : null;
function logLine(obj) {
  if (logFd !== null) fs.writeSync(logFd, JSON.stringify(obj) + '\n');
}

// ---------------------------------------------------------------- errors
const xmlEsc = (s) => String(s).replace(/[<>&'"]/g, (c) =>
  ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }[c]));

class S3Err extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

function sendError(ctx, err) {
  const { res } = ctx;
  const rid = crypto.randomBytes(8).toString('hex').toUpperCase();
  let body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code>` +
    `<Message>${xmlEsc(err.message)}</Message>`;
  for (const [k, v] of Object.entries(err.extra)) body += `<${k}>${xmlEsc(v)}</${k}>`;
  body += `<RequestId>${rid}</RequestId><HostId>s3-front</HostId></Error>`;
  ctx.verdict = ctx.verdict || err.code;
  ctx.status = err.status;
  if (res.headersSent || res.destroyed) return;
  const buf = Buffer.from(body);
  const h = { 'content-type': 'application/xml', 'x-amz-request-id': rid };
  if (ctx.req.method !== 'HEAD') h['content-length'] = buf.length;
  res.writeHead(err.status, h);
  if (ctx.req.method !== 'HEAD') ctx.bytes += buf.length;
  res.end(ctx.req.method === 'HEAD' ? undefined : buf);
  ctx.complete = true;
}

// ---------------------------------------------------------------- verification
const HEX64 = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function parseAuthorization(value) {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(value);
  if (!m) {
    if (/^AWS /.test(value)) {
      throw new S3Err(400, 'InvalidRequest',
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    }
    throw new S3Err(400, 'InvalidArgument', 'Unsupported Authorization Type',
      { ArgumentName: 'Authorization', ArgumentValue: value });
  }
  const parts = {};
  for (const comp of m[1].split(',')) {
    const c = comp.trim();
    const eq = c.indexOf('=');
    if (eq < 0) continue;
    parts[c.slice(0, eq)] = c.slice(eq + 1);
  }
  for (const k of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts[k]) {
      throw new S3Err(400, 'AuthorizationHeaderMalformed',
        `The authorization header is malformed; missing ${k}.`);
    }
  }
  return parts;
}

// Header values exactly as sent (rawHeaders keeps repeats), trimmed, joined with ','.
function rawHeaderMap(req) {
  const map = new Map();
  const rh = req.rawHeaders;
  for (let i = 0; i < rh.length; i += 2) {
    const k = rh[i].toLowerCase();
    const v = rh[i + 1].trim();
    map.set(k, map.has(k) ? map.get(k) + ',' + v : v);
  }
  return map;
}

async function verify(ctx) {
  const { req } = ctx;
  const hdrs = rawHeaderMap(req);
  const authz = hdrs.get('authorization');
  if (!authz) {
    if ('X-Amz-Algorithm' in ctx.query || 'X-Amz-Signature' in ctx.query) {
      throw new S3Err(403, 'AccessDenied', 'Query-string (presigned) authentication is not supported by this test front');
    }
    throw new S3Err(403, 'AccessDenied', 'Access Denied (request is not signed)');
  }
  const auth = parseAuthorization(authz);
  for (const h of ['x-amz-content-sha256', 'x-amz-date']) {
    if (!hdrs.has(h)) throw new S3Err(400, 'InvalidRequest', `Missing required header for this request: ${h}`);
  }
  const cred = auth.Credential.split('/');
  if (cred.length !== 5) {
    throw new S3Err(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request". (${auth.Credential})`);
  }
  const [akid, scopeDate, scopeRegion, scopeService, term] = cred;
  if (akid !== ACCESS_KEY) {
    throw new S3Err(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: akid });
  }
  const amzDate = hdrs.get('x-amz-date');
  const dm = AMZ_DATE.exec(amzDate);
  if (!dm) {
    throw new S3Err(403, 'AccessDenied', `X-Amz-Date must be in the ISO8601 basic format YYYYMMDD'T'HHMMSS'Z' (got ${amzDate})`);
  }
  const signingDate = new Date(Date.UTC(+dm[1], +dm[2] - 1, +dm[3], +dm[4], +dm[5], +dm[6]));
  if (isNaN(signingDate) || signingDate.toISOString().replace(/[-:]|\.\d{3}/g, '') !== amzDate) {
    throw new S3Err(403, 'AccessDenied', `Invalid X-Amz-Date ${amzDate}`);
  }
  const now = Date.now();
  if (Math.abs(now - signingDate.getTime()) > SKEW_MS) {
    throw new S3Err(403, 'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      { RequestTime: amzDate, ServerTime: new Date(now).toISOString().replace(/\.\d{3}/, ''), MaxAllowedSkewMilliseconds: SKEW_MS });
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    throw new S3Err(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; Invalid credential date "${scopeDate}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  if (scopeRegion !== REGION) {
    throw new S3Err(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${scopeRegion}' is wrong; expecting '${REGION}'`, { Region: REGION });
  }
  if (scopeService !== 's3' || term !== 'aws4_request') {
    throw new S3Err(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; incorrect service "${scopeService}" or terminator "${term}". This endpoint uses "s3" and "aws4_request".`);
  }
  const token = hdrs.get('x-amz-security-token');
  if (SESSION_TOKEN ? token !== SESSION_TOKEN : token !== undefined) {
    throw new S3Err(403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
  }
  const signedNames = auth.SignedHeaders.split(';');
  if (!signedNames.includes('host')) {
    throw new S3Err(403, 'AccessDenied', 'The Host header must be signed (SignedHeaders lacks host)');
  }
  if (signedNames.includes('date')) {
    // @smithy/signature-v4 strips a Date header before signing; S3 would allow it.
    throw new S3Err(400, 'InvalidRequest', 'test front limitation: do not sign the Date header (sign x-amz-date only)');
  }
  const unsigned = [...hdrs.keys()].filter((h) => h.startsWith('x-amz-') && !signedNames.includes(h));
  if (unsigned.length) {
    throw new S3Err(403, 'AccessDenied', 'There were headers present in the request which were not signed',
      { HeadersNotSigned: unsigned.join(', ') });
  }
  const payloadHash = hdrs.get('x-amz-content-sha256');
  if (payloadHash.startsWith('STREAMING-')) {
    throw new S3Err(501, 'NotImplemented', `x-amz-content-sha256 ${payloadHash} is not supported by this test front`);
  }
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && !HEX64.test(payloadHash)) {
    throw new S3Err(400, 'InvalidArgument',
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.',
      { ArgumentName: 'x-amz-content-sha256', ArgumentValue: payloadHash });
  }
  if (ctx.noncanonical.length && STRICT) {
    throw new S3Err(400, 'NonCanonicalEncoding',
      `test front (--strict-encoding): request target not in canonical S3 encoding: ${ctx.noncanonical.join(' ')}`);
  }

  const headers = {};
  for (const name of signedNames) {
    if (!hdrs.has(name)) {
      throw new S3Err(403, 'SignatureDoesNotMatch', `Signed header ${name} is not present in the request`);
    }
    headers[name] = hdrs.get(name);
  }
  const hostHeader = hdrs.get('host') || '';
  const hp = /^(.*?)(?::(\d+))?$/.exec(hostHeader);
  const request = {
    method: req.method,
    protocol: 'http:',
    hostname: hp[1],
    port: hp[2] ? Number(hp[2]) : undefined,
    path: ctx.canonicalPath,
    query: ctx.query,
    headers,
  };
  const signableHeaders = new Set(signedNames);
  const signed = await signer.sign(request, { signingDate, signableHeaders });
  const sm = /Signature=([0-9a-f]+)/.exec(signed.headers.authorization);
  const want = Buffer.from(sm[1]);
  const got = Buffer.from(auth.Signature);
  if (want.length !== got.length || !crypto.timingSafeEqual(want, got)) {
    // Diagnostics like real S3's: the canonical request and string to sign,
    // built with the signer's own exported pieces.
    const prepared = prepareRequest(request);
    prepared.headers['x-amz-date'] = amzDate;
    if (SESSION_TOKEN) prepared.headers['x-amz-security-token'] = SESSION_TOKEN;
    const canon = getCanonicalHeaders(prepared, undefined, signableHeaders);
    const creq = signer.createCanonicalRequest(prepared, canon, payloadHash);
    const scope = `${scopeDate}/${REGION}/s3/aws4_request`;
    const sts = await signer.createStringToSign(amzDate, scope, creq, 'AWS4-HMAC-SHA256');
    ctx.detail = { canonicalRequest: creq, stringToSign: sts };
    throw new S3Err(403, 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        AWSAccessKeyId: akid,
        StringToSign: sts,
        SignatureProvided: auth.Signature,
        CanonicalRequest: creq,
      });
  }
  return payloadHash;
}

// ---------------------------------------------------------------- body / helpers
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new S3Err(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size (test front --max-body)'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te',
  'trailer', 'upgrade', 'expect']);

function upstreamRequest(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const h = {};
    for (const [k, v] of Object.entries(headers)) if (!HOP.has(k)) h[k] = v;
    if (body && body.length) h['content-length'] = body.length;
    else if (method !== 'GET' && method !== 'HEAD') h['content-length'] = 0;
    else delete h['content-length'];
    const r = http.request({ host: UP_HOST, port: UP_PORT, method, path, headers: h, agent }, resolve);
    r.on('error', reject);
    r.end(body && body.length ? body : undefined);
  });
}

function copyHeaders(up) {
  const out = {};
  for (const [k, v] of Object.entries(up.headers)) if (!HOP.has(k)) out[k] = v;
  return out;
}

function drain(up) {
  up.resume();
  return new Promise((r) => { up.on('end', r); up.on('error', r); up.on('close', r); });
}

// RFC 7233 single byte range. Returns null when absent/ignored (S3 ignores
// invalid and multi-range headers and serves the whole object).
function parseRange(v) {
  if (v === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(v.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') return { suffix: Number(m[2]) };
  const start = Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (end < start) return null;
  return { start, end };
}

function changedEtag(etag) {
  const h = crypto.createHash('md5').update('etag-change:' + etag).digest('hex');
  return `"${h}"`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- object GET
async function serveObjectGet(ctx, forwardHeaders) {
  const { req, res } = ctx;
  state.objectGets++;
  if (state.objectGets <= fault.slowdown) {
    ctx.fault = 'slowdown';
    throw new S3Err(503, 'SlowDown', 'Please reduce your request rate.');
  }
  if (state.objectGets <= fault.slowdown + fault.fail500) {
    ctx.fault = 'internal-error';
    throw new S3Err(500, 'InternalError', 'We encountered an internal error. Please try again.');
  }

  const range = parseRange(req.headers.range);
  const h = { ...forwardHeaders };
  delete h.range;
  delete h['if-match'];
  let size = null;
  if (range && range.suffix !== undefined) {
    const head = await upstreamRequest('HEAD', req.url, h);
    await drain(head);
    if (head.statusCode !== 200) return forwardPlain(ctx, 'GET', h); // let s3rver produce the error
    size = Number(head.headers['content-length']);
  }
  let start = 0;
  let end = Infinity;
  if (range) {
    if (range.suffix !== undefined) {
      if (range.suffix === 0 || size === 0) {
        throw new S3Err(416, 'InvalidRange', 'The requested range is not satisfiable',
          { RangeRequested: req.headers.range, ActualObjectSize: size });
      }
      start = Math.max(0, size - range.suffix);
    } else {
      start = range.start;
      end = range.end;
    }
    h.range = `bytes=${start}-`;
  }
  const up = await upstreamRequest('GET', req.url, h);
  ctx.upstream = up;
  const out = copyHeaders(up);
  let status = up.statusCode;
  let length = Number(up.headers['content-length']);
  if (range && status === 206) {
    const cr = /\/(\d+)$/.exec(up.headers['content-range'] || '');
    const total = cr ? Number(cr[1]) : NaN;
    if (!(total > start)) {
      up.destroy();
      throw new S3Err(416, 'InvalidRange', 'The requested range is not satisfiable',
        { RangeRequested: req.headers.range, ActualObjectSize: total });
    }
    const last = Math.min(end, total - 1);
    length = last - start + 1;
    out['content-range'] = `bytes ${start}-${last}/${total}`;
    out['content-length'] = String(length);
  }
  if (status === 200 || status === 206) {
    if (fault.etagChangeAfter !== null && state.okObjectGets >= fault.etagChangeAfter && out.etag) {
      ctx.fault = ctx.fault || 'etag-change';
      out.etag = changedEtag(out.etag);
    }
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.trim() !== '*' &&
        !ifMatch.split(',').map((s) => s.trim()).includes(out.etag)) {
      up.destroy();
      throw new S3Err(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold',
        { Condition: 'If-Match' });
    }
  }

  // Faults on the body.
  let cutAt = null;
  let cutMode = null;
  if ((status === 200 || status === 206) && Number.isFinite(length)) {
    if (fault.resetAfter !== null && !state.resetDone && length > fault.resetAfter) {
      state.resetDone = true;
      cutAt = fault.resetAfter;
      cutMode = 'reset';
    } else if (fault.stallAfter !== null && !state.stallDone && length > fault.stallAfter) {
      state.stallDone = true;
      cutAt = fault.stallAfter;
      cutMode = 'stall';
    }
  }
  if (cutMode) ctx.fault = cutMode;
  ctx.status = status;
  res.writeHead(status, out);
  await pump(ctx, up, Number.isFinite(length) ? length : Infinity, cutAt, cutMode);
  if (cutMode === 'reset') return;
  if ((status === 200 || status === 206) && ctx.complete) state.okObjectGets++;
}

// Copy up to `limit` body bytes from upstream to the client, honouring
// back-pressure; optional cut (reset or stall) after `cutAt` bytes.
async function pump(ctx, up, limit, cutAt, cutMode) {
  const { res } = ctx;
  let sent = 0;
  const closed = new Promise((r) => res.once('close', r));
  const write = async (buf) => {
    if (res.destroyed) throw new Error('client gone');
    sent += buf.length;
    ctx.bytes += buf.length;
    if (!res.write(buf)) {
      await Promise.race([new Promise((r) => res.once('drain', r)), closed]);
      if (res.destroyed) throw new Error('client gone');
    }
  };
  try {
    for await (let chunk of up) {
      if (sent + chunk.length > limit) chunk = chunk.subarray(0, limit - sent);
      if (cutAt !== null && sent + chunk.length > cutAt) {
        const head = chunk.subarray(0, cutAt - sent);
        if (cutMode === 'reset') {
          // Let the headers and bytes reach the socket, then kill the connection.
          if (head.length) {
            sent += head.length;
            ctx.bytes += head.length;
            await new Promise((r) => res.write(head, () => r()));
          } else {
            res.flushHeaders();
          }
          await sleep(20);
          if (res.socket) res.socket.destroy();
          up.destroy();
          return;
        }
        if (head.length) await write(head);
        // stall
        if (fault.stallMs > 0) await Promise.race([sleep(fault.stallMs), closed]);
        else await closed;
        if (res.destroyed) throw new Error('client gone');
        cutAt = null;
        chunk = chunk.subarray(head.length);
      }
      if (chunk.length) await write(chunk);
      if (sent >= limit) break;
    }
    if (sent < limit && Number.isFinite(limit)) {
      // upstream ended early; do not pretend the body is complete
      res.socket && res.socket.destroy();
      return;
    }
    ctx.complete = true;
    res.end();
  } catch (e) {
    up.destroy();
    if (!res.destroyed) res.destroy();
  }
}

// --max-keys N: a listing page holds at most N keys, whatever the client
// asked (S3 may answer fewer than max-keys), so that tests see several pages
// and their continuation tokens. The request was verified as the client
// signed it; s3rver checks no signature.
function capMaxKeys(url) {
  const cap = intOpt('max-keys', 0);
  const q = url.indexOf('?');
  if (cap === 0 || q < 0 || !/(^|&)list-type=2(&|$)/.test(url.slice(q + 1))) return url;
  const parts = url.slice(q + 1).split('&').filter((p) => !p.startsWith('max-keys='));
  parts.push(`max-keys=${cap}`);
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

async function forwardPlain(ctx, method, headers, body) {
  const { req, res } = ctx;
  const up = await upstreamRequest(method, capMaxKeys(req.url), headers, body);
  ctx.upstream = up;
  ctx.status = up.statusCode;
  res.writeHead(up.statusCode, copyHeaders(up));
  if (method === 'HEAD') {
    await drain(up);
    ctx.complete = true;
    res.end();
    return;
  }
  await pump(ctx, up, Infinity, null, null);
}

// ---------------------------------------------------------------- request handler
async function handle(req, res) {
  const ctx = {
    req, res, t0: Date.now(), bytes: 0, status: 0, verdict: null, fault: null,
    complete: false, noncanonical: [],
  };
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
  ctx.rawPath = rawPath;
  ctx.rawQuery = rawQuery;
  res.on('close', () => {
    const entry = {
      method: req.method,
      path: rawPath,
      query: rawQuery,
      range: req.headers.range === undefined ? null : req.headers.range,
      verdict: ctx.verdict || 'error',
      status: ctx.status,
      bytes: ctx.bytes,
      complete: ctx.complete,
      ms: Date.now() - ctx.t0,
    };
    if (ctx.key !== undefined) {
      entry.bucket = ctx.bucket;
      entry.key = ctx.key;
    }
    if (ctx.objectGet) entry.object_get = true;
    if (ctx.fault) entry.fault = ctx.fault;
    if (ctx.noncanonical.length) entry.noncanonical = ctx.noncanonical;
    if (ctx.detail) entry.detail = ctx.detail;
    if (ctx.message) entry.message = ctx.message;
    logLine(entry);
    if (ctx.upstream && !ctx.upstream.complete) ctx.upstream.destroy();
  });
  try {
    const cp = canonicalPath(rawPath);
    if (cp === null || !rawPath.startsWith('/')) {
      throw new S3Err(400, 'InvalidURI', "Couldn't parse the specified URI.", { URI: req.url });
    }
    ctx.canonicalPath = cp;
    if (cp !== rawPath) ctx.noncanonical.push('path');
    const pq = parseRawQuery(rawQuery);
    if (pq.bad !== null) throw new S3Err(400, 'InvalidURI', "Couldn't parse the specified URI.", { URI: req.url });
    ctx.query = pq.query;
    if (pq.noncanonical.length) ctx.noncanonical.push(...pq.noncanonical.map((p) => 'query:' + p));
    const decodedPath = percentDecode(rawPath);
    const slash = decodedPath.indexOf('/', 1);
    ctx.bucket = slash < 0 ? decodedPath.slice(1) : decodedPath.slice(1, slash);
    ctx.key = slash < 0 ? undefined : decodedPath.slice(slash + 1);
    if (ctx.key === '') ctx.key = undefined;

    const body = await readBody(req);
    const payloadHash = await verify(ctx);
    if (HEX64.test(payloadHash) && (await sha256Hex(body)) !== payloadHash) {
      throw new S3Err(400, 'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: await sha256Hex(body) });
    }
    ctx.verdict = 'ok';

    const fwd = { ...req.headers };
    ctx.objectGet = req.method === 'GET' && ctx.key !== undefined && !('list-type' in ctx.query);
    if (ctx.objectGet) await serveObjectGet(ctx, fwd);
    else await forwardPlain(ctx, req.method, fwd, body);
  } catch (err) {
    if (err instanceof S3Err) {
      ctx.message = err.message;
      sendError(ctx, err);
    } else {
      ctx.message = String(err && err.stack || err);
      ctx.verdict = ctx.verdict || 'error';
      if (!res.headersSent) sendError(ctx, new S3Err(502, 'BadGateway', 'front.js: ' + (err && err.message)));
      else res.destroy();
    }
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`front.js: internal error: ${e && e.stack}\n`);
    try { res.destroy(); } catch (_) { /* ignore */ }
  });
});
server.keepAliveTimeout = 10000;

let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  agent.destroy();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
const lifetime = intOpt('max-lifetime', 0);
if (lifetime > 0) setTimeout(shutdown, lifetime * 1000).unref();

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`s3-front listening on http://127.0.0.1:${server.address().port}\n`);
});
