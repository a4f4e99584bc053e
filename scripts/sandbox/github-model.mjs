// The fixtures of the sandbox's fake GitHub API (fake-github.mjs) as GitHub objects: tokens (login,
// expiry, role per repository), users and repositories, in the shapes GitHub's REST and GraphQL APIs use.
import fs from 'node:fs';

/** GitHub's repository roles, weakest first; each includes the ones before it. */
export const ROLES = ['pull', 'triage', 'push', 'maintain', 'admin'];
const VIEWER_PERMISSION = { pull: 'READ', triage: 'TRIAGE', push: 'WRITE', maintain: 'MAINTAIN', admin: 'ADMIN' };
/** A token without a role for a repository it can see has this one (what the agent's account needs). */
const DEFAULT_ROLE = 'push';
const STAMP = '2026-01-01T00:00:00Z';

const nodeId = (kind, id) => Buffer.from(`0:${kind}${id}`).toString('base64').replace(/=+$/, '');

export function loadFixtures(file) {
  const f = JSON.parse(fs.readFileSync(file, 'utf8'));
  const users = f.users || {};
  const tokens = {};
  for (const [t, v] of Object.entries(f.tokens || {})) tokens[t] = tokenEntry(v, users);
  return { tokens, users, repositories: f.repositories || {} };
}

/**
 * A token's fixture: a login, or {login, expiresAt (ISO 8601, optional), permissions ({"owner/name": role},
 * optional)}. Throws on an unknown login, an unreadable date or an unknown role.
 */
export function tokenEntry(v, users) {
  const e = typeof v === 'string' ? { login: v } : { ...v };
  if (!e.login || !users[e.login]) throw new Error(`unknown login ${e.login}`);
  if (e.expiresAt !== undefined && e.expiresAt !== null && Number.isNaN(Date.parse(e.expiresAt))) {
    throw new Error(`expiresAt ${e.expiresAt} is not a date`);
  }
  for (const [repo, role] of Object.entries(e.permissions || {})) {
    if (!ROLES.includes(role)) throw new Error(`permissions.${repo}: ${role} is not one of ${ROLES.join(', ')}`);
  }
  return { login: e.login, expiresAt: e.expiresAt ?? null, permissions: e.permissions || {} };
}

/** GitHub revokes a token when it expires: from then on it is just a bad credential. */
export const isExpired = (t, now = Date.now()) => t.expiresAt !== null && Date.parse(t.expiresAt) <= now;

/** `github-authentication-token-expiration` as GitHub writes it: `2026-05-01 10:00:00 UTC`. */
export function expiryHeader(t) {
  if (t.expiresAt === null) return {};
  const iso = new Date(Date.parse(t.expiresAt)).toISOString();
  return { 'github-authentication-token-expiration': `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` };
}

export function roleOf(t, full) {
  const key = Object.keys(t.permissions).find((k) => k.toLowerCase() === full.toLowerCase());
  return key ? t.permissions[key] : DEFAULT_ROLE;
}

/** REST's `permissions` object: every role up to the token's is true. */
export function permissionsObject(role) {
  const rank = ROLES.indexOf(role);
  return Object.fromEntries(['admin', 'maintain', 'push', 'triage', 'pull'].map((r) => [r, ROLES.indexOf(r) <= rank]));
}

export function githubModel(webHost) {
  function userObject(fx, login) {
    const u = fx.users[login] || {};
    const id = u.id ?? 1;
    return {
      login, id, node_id: nodeId('User', id), type: u.type || 'User', site_admin: false,
      name: u.name ?? login, email: u.email ?? null, company: null, blog: '', location: null, bio: null,
      avatar_url: `http://${webHost}/avatars/${login}`, html_url: `http://${webHost}/${login}`,
      url: `http://api.${webHost}/users/${login}`, public_repos: 0, followers: 0, following: 0,
      created_at: STAMP, updated_at: STAMP,
    };
  }

  // A fixture key `owner/*` stands for every repository of that owner (tests with hundreds of repositories).
  const matches = (key, full) => key.toLowerCase() === full.toLowerCase() ||
    (key.endsWith('/*') && full.toLowerCase().startsWith(key.slice(0, -1).toLowerCase()));

  function canSee(fx, login, full) {
    const u = fx.users[login];
    return !!(u && Array.isArray(u.repositories) && u.repositories.some((r) => matches(r, full)));
  }

  function findRepo(fx, owner, name) {
    const full = `${owner}/${name}`;
    const key = Object.keys(fx.repositories).find((k) => k.toLowerCase() === full.toLowerCase()) ||
      Object.keys(fx.repositories).find((k) => matches(k, full));
    if (!key) return null;
    return key.endsWith('/*') ? { ...fx.repositories[key], full } : { full: key, ...fx.repositories[key] };
  }

  function restRepo(r, role) {
    const [owner, name] = r.full.split('/');
    const id = r.id ?? 1;
    return {
      id, node_id: nodeId('Repository', id), name, full_name: r.full, private: !!r.private,
      visibility: r.private ? 'private' : 'public', description: r.description ?? null, fork: false,
      archived: false, disabled: false, default_branch: r.defaultBranch || 'main',
      owner: { login: owner, id: 1, node_id: nodeId('User', owner), type: 'Organization' },
      html_url: `http://${webHost}/${r.full}`, url: `http://api.${webHost}/repos/${r.full}`,
      clone_url: `http://${webHost}/${r.full}.git`, ssh_url: `git@${webHost}:${r.full}.git`,
      permissions: permissionsObject(role),
      created_at: STAMP, updated_at: STAMP, pushed_at: STAMP,
    };
  }

  function gqlRepo(r, role) {
    const [owner, name] = r.full.split('/');
    const id = r.id ?? 1;
    const url = `http://${webHost}/${r.full}`;
    const empty = { totalCount: 0, nodes: [], edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    return {
      __typename: 'Repository', id: nodeId('Repository', id), databaseId: id, name, nameWithOwner: r.full,
      owner: { __typename: 'Organization', id: nodeId('Organization', owner), login: owner, url: `http://${webHost}/${owner}` },
      description: r.description ?? null, url, homepageUrl: '', sshUrl: `git@${webHost}:${r.full}.git`,
      isPrivate: !!r.private, visibility: r.private ? 'PRIVATE' : 'PUBLIC', isFork: false, isArchived: false,
      isTemplate: false, isMirror: false, isEmpty: false, isLocked: false, isInOrganization: true,
      hasIssuesEnabled: true, hasWikiEnabled: false, hasProjectsEnabled: false, hasDiscussionsEnabled: false,
      mergeCommitAllowed: true, squashMergeAllowed: true, rebaseMergeAllowed: true, deleteBranchOnMerge: false,
      defaultBranchRef: { name: r.defaultBranch || 'main' }, createdAt: STAMP, updatedAt: STAMP, pushedAt: STAMP,
      stargazerCount: 0, forkCount: 0, diskUsage: 0, viewerPermission: VIEWER_PERMISSION[role],
      viewerCanAdminister: role === 'admin', viewerHasStarred: false, viewerSubscription: 'UNSUBSCRIBED',
      parent: null, templateRepository: null, primaryLanguage: null, licenseInfo: null, latestRelease: null,
      securityPolicyUrl: null, fundingLinks: [], codeOfConduct: null, mirrorUrl: null,
      watchers: empty, issues: empty, pullRequests: empty, languages: empty, repositoryTopics: empty,
      assignableUsers: empty, mentionableUsers: empty, milestones: empty, projects: empty, projectsV2: empty,
      labels: empty, refs: empty, releases: empty, collaborators: empty,
    };
  }

  return { userObject, canSee, findRepo, restRepo, gqlRepo };
}
