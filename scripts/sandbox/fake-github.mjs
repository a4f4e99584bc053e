#!/usr/bin/env node
// Fake GitHub API for the sandbox host (scripts/sandbox.sh). Dependency-free (node:http only).
//
// What Debian's gh 2.23 sends with GH_HOST=github.localhost (checked by logging real requests):
//   gh api user            GET  http://api.github.localhost/user      Authorization: token <T>
//   gh repo view O/N       POST http://api.github.localhost/graphql   Authorization: token <T>
//                          {"query":"query RepositoryInfo($owner: String!, $name: String!) {
//                             repository(owner: $owner, name: $name) {name,owner{id,login},description} }",
//                           "variables":{"name":"N","owner":"O"}}
//                          then GET /repos/O/N/readme (404 here: "no README" is fine for gh).
// The GitHub Enterprise prefixes /api/v3/... and /api/graphql are accepted as aliases.
//
// API:     http://${GFH_FAKE_GITHUB_LISTEN:-127.0.0.1}:${GFH_FAKE_GITHUB_PORT:-80}
// Control: http://${GFH_FAKE_GITHUB_LISTEN:-127.0.0.1}:${GFH_FAKE_GITHUB_CONTROL_PORT:-8081}
//   POST   /_control/fail?count=N&status=500[&match=SUBSTRING]  next N API requests (whose path
//          contains SUBSTRING, if given) fail with that status
//   GET    /_control/requests[?since=SEQ]   recent API requests, oldest first (no token values:
//          only the auth scheme and a sha256 prefix of the token)
//   DELETE /_control/requests, POST /_control/reset   clear the log (reset also clears failures)
//   POST   /_control/tokens                 {"<token>": "<login>"}: add valid tokens (memory only)
//   POST   /_control/reload                 re-read the fixtures file
//   GET    /_control/health                 {"ok":true,...}
// Fixtures: JSON file, ${GFH_FAKE_GITHUB_FIXTURES:-<this dir>/fixtures.json}.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const LISTEN = process.env.GFH_FAKE_GITHUB_LISTEN || '127.0.0.1';
const API_PORT = Number(process.env.GFH_FAKE_GITHUB_PORT || 80);
const CONTROL_PORT = Number(process.env.GFH_FAKE_GITHUB_CONTROL_PORT || 8081);
const FIXTURES = process.env.GFH_FAKE_GITHUB_FIXTURES || path.join(here, 'fixtures.json');
const WEB_HOST = process.env.GFH_FAKE_GITHUB_WEB_HOST || 'github.localhost';
const LOG_LIMIT = 2000;

let fixtures = loadFixtures();
let seq = 0;
const requestLog = [];
const failures = []; // [{remaining, status, match}]

function loadFixtures() {
  const f = JSON.parse(fs.readFileSync(FIXTURES, 'utf8'));
  return { tokens: f.tokens || {}, users: f.users || {}, repositories: f.repositories || {} };
}

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);
const nodeId = (kind, id) => Buffer.from(`0:${kind}${id}`).toString('base64').replace(/=+$/, '');
const STAMP = '2026-01-01T00:00:00Z';

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

// ---------------------------------------------------------------- fixtures -> objects
function userObject(login) {
  const u = fixtures.users[login] || {};
  const id = u.id ?? 1;
  return {
    login, id, node_id: nodeId('User', id), type: u.type || 'User', site_admin: false,
    name: u.name ?? login, email: u.email ?? null, company: null, blog: '', location: null, bio: null,
    avatar_url: `http://${WEB_HOST}/avatars/${login}`, html_url: `http://${WEB_HOST}/${login}`,
    url: `http://api.${WEB_HOST}/users/${login}`, public_repos: 0, followers: 0, following: 0,
    created_at: STAMP, updated_at: STAMP,
  };
}

// A fixture key `owner/*` stands for every repository of that owner (tests with hundreds of repositories).
const matches = (key, full) => key.toLowerCase() === full.toLowerCase() ||
  (key.endsWith('/*') && full.toLowerCase().startsWith(key.slice(0, -1).toLowerCase()));

function canSee(login, full) {
  const u = fixtures.users[login];
  return !!(u && Array.isArray(u.repositories) && u.repositories.some((r) => matches(r, full)));
}

function findRepo(owner, name) {
  const full = `${owner}/${name}`;
  const key = Object.keys(fixtures.repositories).find((k) => k.toLowerCase() === full.toLowerCase()) ||
    Object.keys(fixtures.repositories).find((k) => matches(k, full));
  if (!key) return null;
  return key.endsWith('/*') ? { ...fixtures.repositories[key], full } : { full: key, ...fixtures.repositories[key] };
}

function restRepo(r) {
  const [owner, name] = r.full.split('/');
  const id = r.id ?? 1;
  return {
    id, node_id: nodeId('Repository', id), name, full_name: r.full, private: !!r.private,
    visibility: r.private ? 'private' : 'public', description: r.description ?? null, fork: false,
    archived: false, disabled: false, default_branch: r.defaultBranch || 'main',
    owner: { login: owner, id: 1, node_id: nodeId('User', owner), type: 'Organization' },
    html_url: `http://${WEB_HOST}/${r.full}`, url: `http://api.${WEB_HOST}/repos/${r.full}`,
    clone_url: `http://${WEB_HOST}/${r.full}.git`, ssh_url: `git@${WEB_HOST}:${r.full}.git`,
    permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    created_at: STAMP, updated_at: STAMP, pushed_at: STAMP,
  };
}

function gqlRepo(r) {
  const [owner, name] = r.full.split('/');
  const id = r.id ?? 1;
  const url = `http://${WEB_HOST}/${r.full}`;
  const empty = { totalCount: 0, nodes: [], edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
  return {
    __typename: 'Repository', id: nodeId('Repository', id), databaseId: id, name, nameWithOwner: r.full,
    owner: { __typename: 'Organization', id: nodeId('Organization', owner), login: owner, url: `http://${WEB_HOST}/${owner}` },
    description: r.description ?? null, url, homepageUrl: '', sshUrl: `git@${WEB_HOST}:${r.full}.git`,
    isPrivate: !!r.private, visibility: r.private ? 'PRIVATE' : 'PUBLIC', isFork: false, isArchived: false,
    isTemplate: false, isMirror: false, isEmpty: false, isLocked: false, isInOrganization: true,
    hasIssuesEnabled: true, hasWikiEnabled: false, hasProjectsEnabled: false, hasDiscussionsEnabled: false,
    mergeCommitAllowed: true, squashMergeAllowed: true, rebaseMergeAllowed: true, deleteBranchOnMerge: false,
    defaultBranchRef: { name: r.defaultBranch || 'main' }, createdAt: STAMP, updatedAt: STAMP, pushedAt: STAMP,
    stargazerCount: 0, forkCount: 0, diskUsage: 0, viewerPermission: 'WRITE', viewerCanAdminister: false,
    viewerHasStarred: false, viewerSubscription: 'UNSUBSCRIBED',
    parent: null, templateRepository: null, primaryLanguage: null, licenseInfo: null, latestRelease: null,
    securityPolicyUrl: null, fundingLinks: [], codeOfConduct: null, mirrorUrl: null,
    watchers: empty, issues: empty, pullRequests: empty, languages: empty, repositoryTopics: empty,
    assignableUsers: empty, mentionableUsers: empty, milestones: empty, projects: empty, projectsV2: empty,
    labels: empty, refs: empty, releases: empty, collaborators: empty,
  };
}

// ---------------------------------------------------------------- a small GraphQL reader
function tokenize(src) {
  const toks = [];
  const re = /\s+|,|#[^\n]*|("(?:[^"\\]|\\.)*")|(\.\.\.)|([A-Za-z_][A-Za-z0-9_]*)|(-?\d+(?:\.\d+)?)|([{}()\[\]:!$=@])/gy;
  let m;
  while (re.lastIndex < src.length && (m = re.exec(src))) {
    if (m[1]) toks.push({ t: 'str', v: JSON.parse(m[1]) });
    else if (m[2]) toks.push({ t: 'spread', v: '...' });
    else if (m[3]) toks.push({ t: 'name', v: m[3] });
    else if (m[4]) toks.push({ t: 'num', v: Number(m[4]) });
    else if (m[5]) toks.push({ t: 'p', v: m[5] });
  }
  if (re.lastIndex < src.length) throw new Error(`cannot parse query near offset ${re.lastIndex}`);
  return toks;
}

function parseDocument(src) {
  const toks = tokenize(src);
  let i = 0;
  const peek = () => toks[i];
  const next = () => toks[i++];
  const isP = (v) => peek() && peek().t === 'p' && peek().v === v;
  const expect = (v) => { const t = next(); if (!t || t.v !== v) throw new Error(`expected ${v}`); return t; };

  function value() {
    const t = next();
    if (t.t === 'p' && t.v === '$') return { var: next().v };
    if (t.t === 'p' && t.v === '[') { const a = []; while (!isP(']')) a.push(value()); next(); return a; }
    if (t.t === 'p' && t.v === '{') {
      const o = {};
      while (!isP('}')) { const k = next().v; expect(':'); o[k] = value(); }
      next();
      return o;
    }
    if (t.t === 'name') return t.v === 'true' ? true : t.v === 'false' ? false : t.v === 'null' ? null : t.v;
    return t.v;
  }
  function args() {
    const a = {};
    if (!isP('(')) return a;
    next();
    while (!isP(')')) { const k = next().v; expect(':'); a[k] = value(); }
    next();
    return a;
  }
  function directives() { while (isP('@')) { next(); next(); args(); } }
  function selectionSet() {
    const sel = [];
    expect('{');
    while (!isP('}')) {
      if (peek().t === 'spread') {
        next();
        if (peek().t === 'name' && peek().v === 'on') { next(); next(); directives(); sel.push({ inline: selectionSet() }); }
        else if (isP('{')) sel.push({ inline: selectionSet() });
        else { sel.push({ spread: next().v }); directives(); }
        continue;
      }
      let name = next().v;
      let alias = name;
      if (isP(':')) { next(); name = next().v; }
      const a = args();
      directives();
      sel.push({ alias, name, args: a, selections: isP('{') ? selectionSet() : null });
    }
    next();
    return sel;
  }

  const ops = [];
  const fragments = {};
  while (i < toks.length) {
    if (isP('{')) { ops.push({ name: null, selections: selectionSet() }); continue; }
    const kw = next().v;
    if (kw === 'fragment') {
      const fname = next().v; next(); next(); directives();
      fragments[fname] = selectionSet();
      continue;
    }
    let opName = null;
    if (peek() && peek().t === 'name') opName = next().v;
    if (isP('(')) { let depth = 0; do { const t = next(); if (t.v === '(') depth++; if (t.v === ')') depth--; } while (depth > 0); }
    directives();
    ops.push({ type: kw, name: opName, selections: selectionSet() });
  }
  return { ops, fragments };
}

function flatten(sel, fragments) {
  const out = [];
  for (const s of sel || []) {
    if (s.inline) out.push(...flatten(s.inline, fragments));
    else if (s.spread) out.push(...flatten(fragments[s.spread] || [], fragments));
    else out.push(s);
  }
  return out;
}

function argValue(v, vars) {
  if (v && typeof v === 'object' && 'var' in v) return vars[v.var];
  return v;
}

// Answers every requested field: from the object if it has it, else a harmless default.
function project(obj, selections, fragments) {
  if (obj === null || obj === undefined) return null;
  if (Array.isArray(obj)) return obj.map((o) => project(o, selections, fragments));
  if (!selections) return obj;
  const out = {};
  for (const s of flatten(selections, fragments)) {
    let v = obj[s.name];
    if (v === undefined) v = defaultFor(s);
    out[s.alias] = s.selections ? project(v, s.selections, fragments) : v;
  }
  return out;
}

function defaultFor(s) {
  if (s.name === '__typename') return 'Object';
  if (s.name === 'totalCount') return 0;
  if (s.name === 'nodes' || s.name === 'edges') return [];
  if (/^(is|has|viewerCan|viewerHas)[A-Z]/.test(s.name)) return false;
  if (s.selections) {
    // Connections and unknown objects: an object whose own fields fall back to defaults.
    return {};
  }
  return null;
}

function graphql(body, login) {
  let doc;
  try { doc = parseDocument(body.query || ''); } catch (e) {
    return { status: 200, body: { errors: [{ message: `Parse error: ${e.message}` }] } };
  }
  const op = body.operationName ? doc.ops.find((o) => o.name === body.operationName) : doc.ops[0];
  if (!op) return { status: 200, body: { errors: [{ message: 'No operation' }] } };
  const vars = body.variables || {};
  const data = {};
  const errors = [];
  for (const f of flatten(op.selections, doc.fragments)) {
    if (f.name === 'repository') {
      const owner = argValue(f.args.owner, vars);
      const name = argValue(f.args.name, vars);
      const full = `${owner}/${name}`;
      const repo = findRepo(owner, name);
      if (repo && canSee(login, repo.full)) {
        data[f.alias] = project(gqlRepo(repo), f.selections, doc.fragments);
      } else {
        data[f.alias] = null;
        errors.push({
          type: 'NOT_FOUND', path: [f.alias], locations: [{ line: 1, column: 1 }],
          message: `Could not resolve to a Repository with the name '${full}'.`,
        });
      }
    } else if (f.name === 'viewer') {
      const u = userObject(login);
      data[f.alias] = project({ __typename: 'User', ...u, id: u.node_id, databaseId: u.id }, f.selections, doc.fragments);
    } else if (f.name === '__typename') {
      data[f.alias] = 'Query';
    } else {
      data[f.alias] = null;
      errors.push({ message: `Field '${f.name}' is not supported by the sandbox fake GitHub API`, path: [f.alias] });
    }
  }
  const out = { data };
  if (errors.length) out.errors = errors;
  return { status: 200, body: out };
}

// ---------------------------------------------------------------- API server
function route(req, body, login) {
  const url = new URL(req.url, 'http://x');
  let p = url.pathname.replace(/\/+$/, '') || '/';
  if (p.startsWith('/api/v3/')) p = p.slice(7);
  if (p === '/api/graphql') p = '/graphql';

  if (p === '/graphql' && req.method === 'POST') {
    let parsed;
    try { parsed = JSON.parse(body || '{}'); } catch { return { status: 400, body: { message: 'Problems parsing JSON' } }; }
    return graphql(parsed, login);
  }
  if (p === '/user' && req.method === 'GET') return { status: 200, body: userObject(login) };
  if (p === '/' && req.method === 'GET') return { status: 200, body: { current_user_url: `http://api.${WEB_HOST}/user` } };
  let m = /^\/users\/([^/]+)$/.exec(p);
  if (m && req.method === 'GET') {
    return fixtures.users[m[1]] ? { status: 200, body: userObject(m[1]) } : notFound();
  }
  m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(p);
  if (m && req.method === 'GET') {
    const repo = findRepo(m[1], m[2]);
    if (!repo || !canSee(login, repo.full)) return notFound();
    if (!m[3]) return { status: 200, body: restRepo(repo) };
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
    const failure = failures.find((f) => f.remaining > 0 && (!f.match || req.url.includes(f.match)));
    if (failure) {
      failure.remaining--;
      entry.injected = true;
      result = { status: failure.status, body: { message: `Injected failure (sandbox control, status ${failure.status})` } };
    } else if (!token) {
      result = { status: 401, body: { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' } };
    } else if (!Object.prototype.hasOwnProperty.call(fixtures.tokens, token)) {
      result = { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } };
    } else {
      entry.login = fixtures.tokens[token];
      try { result = route(req, body, entry.login); } catch (e) { result = { status: 500, body: { message: String(e.message || e) } }; }
    }
    for (let k = failures.length - 1; k >= 0; k--) if (failures[k].remaining <= 0) failures.splice(k, 1);
    entry.status = result.status;
    requestLog.push(entry);
    if (requestLog.length > LOG_LIMIT) requestLog.splice(0, requestLog.length - LOG_LIMIT);
    log(`${entry.seq} ${req.method} ${req.headers.host || '-'}${req.url} auth=${entry.auth ? `${scheme}:sha256:${entry.auth.tokenSha256}` : 'none'} -> ${result.status}${entry.injected ? ' (injected)' : ''}`);
    send(res, result.status, result.body);
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
        return send(res, 200, { ok: true, pid: process.pid, apiPort: API_PORT, fixtures: FIXTURES, requests: seq, pendingFailures: failures });
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
        fixtures = loadFixtures();
        log('control: reset');
        return send(res, 200, { ok: true });
      }
      if (p === '/_control/tokens' && req.method === 'POST') {
        // {"<token>": "<login>"}: extra valid tokens in memory only (tests use random canaries).
        const add = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        for (const [t, login] of Object.entries(add)) {
          if (!fixtures.users[login]) return send(res, 400, { message: `unknown login ${login}` });
          fixtures.tokens[t] = login;
        }
        log(`control: ${Object.keys(add).length} token(s) added`);
        return send(res, 200, { ok: true });
      }
      if (p === '/_control/reload' && req.method === 'POST') {
        fixtures = loadFixtures();
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
