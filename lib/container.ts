/**
 * The agent container's side of the setup document ("Inside the container"): where the token file and the
 * Codex state are mounted, where GitHub Flows mounts the run's workspace, and how the token becomes GH_TOKEN.
 * The checks, the Codex login and the rendered profiles all use these, so they cannot disagree.
 */

/** Token file as the container sees it (mounted read-only). */
export const CONTAINER_TOKEN_FILE = "/run/secrets/gh-token";
/** Codex auth state as the container sees it. */
export const CONTAINER_CODEX_DIR = "/home/user/.codex";
/** Per-run workspace (GitHub Flows mounts the run directory there). */
export const CONTAINER_WORKSPACE = "/workspace";

/** The document's way of turning the mounted token file into GH_TOKEN and GITHUB_TOKEN. */
export const TOKEN_EXPORT = `export GH_TOKEN="$(tr -d '\\r\\n' < "$GH_TOKEN_FILE")"; export GITHUB_TOKEN="$GH_TOKEN"`;
