#!/usr/bin/env node
// Fake GitHub API for the sandbox host (scripts/sandbox.sh). Dependency-free (node:http only); the
// GraphQL reader is graphql.mjs, the fixtures as GitHub objects github-model.mjs.
//
// What Debian's gh 2.23 sends with GH_HOST=github.localhost (checked by logging real requests):
//   gh api user            GET  http://api.github.localhost/user      Authorization: token <T>
//   gh api repos/O/N       GET  http://api.github.localhost/repos/O/N (its `permissions` follow the token's role)
//   gh repo view O/N       POST http://api.github.localhost/graphql   Authorization: token <T>
//                          {"query":"query RepositoryInfo($owner: String!, $name: String!) {
//                             repository(owner: $owner, name: $name) {name,owner{id,login},description} }",
//                           "variables":{"name":"N","owner":"O"}}
//                          then GET /repos/O/N/readme (404 here: "no README" is fine for gh).
// The GitHub Enterprise prefixes /api/v3/... and /api/graphql are accepted as aliases.
// Like GitHub: a token with an expiry gets `github-authentication-token-expiration: 2026-05-01 10:00:00 UTC`
// on every answer; once that time has passed the token is revoked and gets 401 Bad credentials.
//
// API:     http://${GFH_FAKE_GITHUB_LISTEN:-127.0.0.1}:${GFH_FAKE_GITHUB_PORT:-80}
// Control: http://${GFH_FAKE_GITHUB_LISTEN:-127.0.0.1}:${GFH_FAKE_GITHUB_CONTROL_PORT:-8081}
//   POST   /_control/fail?count=N&status=500[&match=SUBSTRING]  next N API requests (whose path
//          contains SUBSTRING, if given) fail with that status
//   GET    /_control/requests[?since=SEQ]   recent API requests, oldest first (no token values:
//          only the auth scheme and a sha256 prefix of the token)
//   DELETE /_control/requests, POST /_control/reset   clear the log (reset also clears failures)
//   POST   /_control/tokens                 {"<token>": "<login>" | {"login", "expiresAt"?, "permissions"?}}:
//          add valid tokens (memory only; same form as the fixtures' tokens)
//   POST   /_control/reload                 re-read the fixtures file
//   GET    /_control/health                 {"ok":true,"code":<sha256 of the *.mjs files>,...}
// Fixtures: JSON file, ${GFH_FAKE_GITHUB_FIXTURES:-<this dir>/fixtures.json}; tokens map a token to a login, or to
// {login, expiresAt (ISO 8601), permissions: {"owner/name": "pull"|"triage"|"push"|"maintain"|"admin"}} (default push).
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { answer } from './graphql.mjs';
import { expiryHeader, githubModel, isExpired, loadFixtures, roleOf, tokenEntry } from './github-model.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LISTEN = process.env.GFH_FAKE_GITHUB_LISTEN || '127.0.0.1';
const API_PORT = Number(process.env.GFH_FAKE_GITHUB_PORT || 80);
const CONTROL_PORT = Number(process.env.GFH_FAKE_GITHUB_CONTROL_PORT || 8081);
const FIXTURES = process.env.GFH_FAKE_GITHUB_FIXTURES || path.join(here, 'fixtures.json');
const WEB_HOST = process.env.GFH_FAKE_GITHUB_WEB_HOST || 'github.localhost';
const LOG_LIMIT = 2000;

const { userObject, canSee, findRepo, restRepo, gqlRepo } = githubModel(WEB_HOST);
// sandbox.sh restarts a running fake whose code differs from the files on disk.
const CODE = crypto.createHash('sha256')
  .update(Buffer.concat(fs.readdirSync(here).filter((f) => f.endsWith('.mjs')).sort().map((f) => fs.readFileSync(path.join(here, f)))))
  .digest('hex');

let fixtures = loadFixtures(FIXTURES);
let seq = 0;
const requestLog = [];
const failures = []; // [{remaining, status, match}]

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);

function log(line) {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

function send(res, status, body, extra = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-github-request-id': `SANDBOX-${seq}`,
    'x-oauth-scopes': 'repo, read:org',
    ...extra,
  });
  res.end(text);
}

// ---------------------------------------------------------------- auth
function authOf(req) {
  const h = req.headers.authorization;
  if (!h) return { scheme: null, token: null };
  const m = /^(\S+)\s+(.*)$/.exec(h.trim());
  if (!m) return { scheme: 'unknown', token: h.trim() };
  return { scheme: m[1].toLowerCase(), token: m[2].trim() };
}

// ---------------------------------------------------------------- API server
function graphql(body, t) {
  const repository = ({ owner, name }) => {
    const repo = findRepo(fixtures, owner, name);
    if (repo && canSee(fixtures, t.login, repo.full)) return { value: gqlRepo(repo, roleOf(t, repo.full)) };
    return { error: { type: 'NOT_FOUND', message: `Could not resolve to a Repository with the name '${owner}/${name}'.` } };
  };
  const viewer = () => {
    const u = userObject(fixtures, t.login);
    return { value: { __typename: 'User', ...u, id: u.node_id, databaseId: u.id } };
  };
  return { status: 200, body: answer(body, { repository, viewer }) };
}

function route(req, body, t) {
  const login = t.login;
  const url = new URL(req.url, 'http://x');
  let p = url.pathname.replace(/\/+$/, '') || '/';
  if (p.startsWith('/api/v3/')) p = p.slice(7);
  if (p === '/api/graphql') p = '/graphql';

  if (p === '/graphql' && req.method === 'POST') {
    let parsed;
    try { parsed = JSON.parse(body || '{}'); } catch { return { status: 400, body: { message: 'Problems parsing JSON' } }; }
    return graphql(parsed, t);
  }
  if (p === '/user' && req.method === 'GET') return { status: 200, body: userObject(fixtures, login) };
  if (p === '/' && req.method === 'GET') return { status: 200, body: { current_user_url: `http://api.${WEB_HOST}/user` } };
  let m = /^\/users\/([^/]+)$/.exec(p);
  if (m && req.method === 'GET') {
    return fixtures.users[m[1]] ? { status: 200, body: userObject(fixtures, m[1]) } : notFound();
  }
  m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(p);
  if (m && req.method === 'GET') {
    const repo = findRepo(fixtures, m[1], m[2]);
    if (!repo || !canSee(fixtures, login, repo.full)) return notFound();
    if (!m[3]) return { status: 200, body: restRepo(repo, roleOf(t, repo.full)) };
    return notFound(); // e.g. /readme: the fixtures have no contents
  }
  return notFound();
}

const notFound = () => ({ status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } });

function redactedHeaders(h) {
  const out = {};
  for (const [k, v] of Object.entries(h)) {
    if (k === 'authorization' || k === 'cookie' || k === 'proxy-authorization') continue;
    out[k] = v;
  }
  return out;
}

const api = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const { scheme, token } = authOf(req);
    const entry = {
      seq: ++seq, time: new Date().toISOString(), method: req.method, path: req.url,
      host: req.headers.host || null, headers: redactedHeaders(req.headers),
      auth: token ? { scheme, tokenSha256: sha(token) } : null, login: null, status: 0,
    };
    if (/graphql$/.test(new URL(req.url, 'http://x').pathname)) {
      try {
        const b = JSON.parse(body);
        entry.graphql = { operationName: b.operationName || null, query: b.query, variables: b.variables || {} };
      } catch { /* logged as is below */ }
    }
    let result;
    let headers = {};
    const known = token && Object.prototype.hasOwnProperty.call(fixtures.tokens, token) ? fixtures.tokens[token] : null;
    const failure = failures.find((f) => f.remaining > 0 && (!f.match || req.url.includes(f.match)));
    if (failure) {
      failure.remaining--;
      entry.injected = true;
      result = { status: failure.status, body: { message: `Injected failure (sandbox control, status ${failure.status})` } };
    } else if (!token) {
      result = { status: 401, body: { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' } };
    } else if (!known || isExpired(known)) {
      if (known) entry.expired = true;
      result = { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } };
    } else {
      entry.login = known.login;
      headers = expiryHeader(known);
      try { result = route(req, body, known); } catch (e) { result = { status: 500, body: { message: String(e.message || e) } }; }
    }
    for (let k = failures.length - 1; k >= 0; k--) if (failures[k].remaining <= 0) failures.splice(k, 1);
    entry.status = result.status;
    requestLog.push(entry);
    if (requestLog.length > LOG_LIMIT) requestLog.splice(0, requestLog.length - LOG_LIMIT);
    log(`${entry.seq} ${req.method} ${req.headers.host || '-'}${req.url} auth=${entry.auth ? `${scheme}:sha256:${entry.auth.tokenSha256}` : 'none'} -> ${result.status}${entry.injected ? ' (injected)' : ''}${entry.expired ? ' (expired)' : ''}`);
    send(res, result.status, result.body, headers);
  });
});

// ---------------------------------------------------------------- control server
const control = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname.replace(/\/+$/, '');
    try {
      if (p === '/_control/health' && req.method === 'GET') {
        return send(res, 200, { ok: true, pid: process.pid, apiPort: API_PORT, fixtures: FIXTURES, code: CODE, requests: seq, pendingFailures: failures });
      }
      if (p === '/_control/fail' && req.method === 'POST') {
        const count = Number(url.searchParams.get('count') ?? 1);
        const status = Number(url.searchParams.get('status') ?? 500);
        if (!Number.isInteger(count) || count < 0 || !Number.isInteger(status) || status < 100 || status > 599) {
          return send(res, 400, { message: 'count must be an integer >= 0 and status an HTTP status' });
        }
        const match = url.searchParams.get('match') || null;
        if (count > 0) failures.push({ remaining: count, status, match });
        log(`control: next ${count} request(s)${match ? ` matching ${match}` : ''} fail with ${status}`);
        return send(res, 200, { ok: true, pendingFailures: failures });
      }
      if (p === '/_control/requests' && req.method === 'GET') {
        const since = Number(url.searchParams.get('since') ?? 0);
        return send(res, 200, requestLog.filter((e) => e.seq > since));
      }
      if (p === '/_control/requests' && req.method === 'DELETE') {
        requestLog.length = 0;
        return send(res, 200, { ok: true });
      }
      if (p === '/_control/reset' && req.method === 'POST') {
        requestLog.length = 0;
        failures.length = 0;
        fixtures = loadFixtures(FIXTURES);
        log('control: reset');
        return send(res, 200, { ok: true });
      }
      if (p === '/_control/tokens' && req.method === 'POST') {
        // Extra tokens in memory only (tests use random canaries), in the fixtures' form; all or none.
        const add = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        const entries = [];
        for (const [t, v] of Object.entries(add)) {
          try { entries.push([t, tokenEntry(v, fixtures.users)]); } catch (e) { return send(res, 400, { message: e.message }); }
        }
        for (const [t, e] of entries) fixtures.tokens[t] = e;
        log(`control: ${Object.keys(add).length} token(s) added`);
        return send(res, 200, { ok: true });
      }
      if (p === '/_control/reload' && req.method === 'POST') {
        fixtures = loadFixtures(FIXTURES);
        log('control: fixtures reloaded');
        return send(res, 200, { ok: true });
      }
      return send(res, 404, { message: 'unknown control endpoint' });
    } catch (e) {
      return send(res, 500, { message: String(e.message || e) });
    }
  });
});

function listen(server, port, what) {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`${what}: cannot listen on ${LISTEN}:${port}: ${e.message}`)));
    server.listen(port, LISTEN, resolve);
  });
}

try {
  await listen(api, API_PORT, 'API');
  await listen(control, CONTROL_PORT, 'control');
  log(`fake GitHub API on http://${LISTEN}:${API_PORT}, control on http://${LISTEN}:${CONTROL_PORT}, fixtures ${FIXTURES}`);
} catch (e) {
  process.stderr.write(`fake-github: ${e.message}\n`);
  process.exit(1);
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { api.close(); control.close(); process.exit(0); });
