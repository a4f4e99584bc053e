// A small GraphQL reader for the sandbox's fake GitHub API (fake-github.mjs): enough of the language for
// the queries Debian's gh 2.23 sends (operations, variables, aliases, fragments, inline fragments,
// directives), answering every requested field from plain objects.

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

/**
 * Answers a GraphQL request ({query, operationName, variables}) the way GitHub does (HTTP 200 with data and
 * errors): `fields[name](args)` gives a top-level field's object as {value}, or {error} (e.g. GitHub's
 * NOT_FOUND for a repository the token cannot see). Fields without a resolver are errors.
 */
export function answer(body, fields) {
  let doc;
  try { doc = parseDocument(body.query || ''); } catch (e) {
    return { errors: [{ message: `Parse error: ${e.message}` }] };
  }
  const op = body.operationName ? doc.ops.find((o) => o.name === body.operationName) : doc.ops[0];
  if (!op) return { errors: [{ message: 'No operation' }] };
  const vars = body.variables || {};
  const data = {};
  const errors = [];
  for (const f of flatten(op.selections, doc.fragments)) {
    if (f.name === '__typename') { data[f.alias] = 'Query'; continue; }
    const resolve = fields[f.name];
    if (!resolve) {
      data[f.alias] = null;
      errors.push({ message: `Field '${f.name}' is not supported by the sandbox fake GitHub API`, path: [f.alias] });
      continue;
    }
    const args = Object.fromEntries(Object.entries(f.args).map(([k, v]) => [k, argValue(v, vars)]));
    const r = resolve(args);
    if (r.error) {
      data[f.alias] = null;
      errors.push({ ...r.error, path: [f.alias], locations: [{ line: 1, column: 1 }] });
    } else {
      data[f.alias] = project(r.value, f.selections, doc.fragments);
    }
  }
  return errors.length ? { data, errors } : { data };
}
