#!/usr/bin/env bash
# Sets the sandbox host up by hand, as an operator does from the setup document (GitHub Flows,
# docs/setup/ubuntu/auth.md, template 20260508) before handing the host to the program (docs/adopting-a-host.md):
#
#   printf '%s' "$TOKEN" | bash scripts/sandbox/by-hand.sh [--profile OWNER/NAME SRC_DIR]... [--trigger EVENT-ACTION]
#
# As root, on a sandbox that is up (`scripts/sandbox.sh up`). Every command of the document that leaves state on the
# host runs as the runtime user (the document's `sudo -iu user`; here `runuser`, the sandbox has no sudo):
#   mkdir -p ~/.secrets; chmod 700       the secrets directory
#   nano ~/.secrets/gh-token; chmod 600  the token read from stdin, written as nano saves it: the bytes, then a line
#                                        ending (a file nano creates gets the umask's mode, 0644, before the chmod)
#   test -r ~/.secrets/gh-token          the document's check, prints gh-token-ok
#   mkdir -p ~/.secrets/codex; chmod 700 the Codex auth directory
#   codex login                          `scripts/sandbox.sh seed-codex` (auth state as a login leaves it)
#   mkdir -p ~/app/github-flows/var/work/auth-test   the document's manual container check workspace
#   a profile per --profile              SRC_DIR/profile.json and SRC_DIR/prompt.md copied (as the user, umask 022)
#                                        to <workspace>/cfg/repos/OWNER/NAME/EVENT-ACTION/ (default trigger
#                                        issue_comment-created), where GitHub Flows reads them
# The document's container checks (`gh api user`, `codex --help`) leave nothing on the host and are not replayed:
# the program runs them itself before it touches the token file. The token never reaches a command line.
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUSER="${GFH_SANDBOX_USER:-user}"
say() { printf 'by-hand: %s\n' "$*"; }
die() { printf 'by-hand: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it acts as the runtime user with runuser)"
RHOME="$(getent passwd "$RUSER" | cut -d: -f6)" || die "no runtime user '$RUSER': run 'bash scripts/sandbox.sh up' first"
[[ -d "$RHOME" ]] || die "the home of '$RUSER' ($RHOME) does not exist"

trigger="issue_comment-created"
profiles=()
while (($#)); do
  case "$1" in
    --profile) (($# >= 3)) || die "--profile needs OWNER/NAME and SRC_DIR"; profiles+=("$2" "$3"); shift 3 ;;
    --trigger) (($# >= 2)) || die "--trigger needs EVENT-ACTION"; trigger="$2"; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done

# The runtime user's login environment, as `sudo -iu user` gives it (umask 022), and nothing of root's.
as_user() { runuser -u "$RUSER" -- env -i HOME="$RHOME" USER="$RUSER" LOGNAME="$RUSER" PATH=/usr/local/bin:/usr/bin:/bin sh -c 'umask 022; "$@"' sh "$@"; }

secrets="$RHOME/.secrets"
token_file="$secrets/gh-token"
codex_dir="$secrets/codex"
workspace="$RHOME/app/github-flows/var/work"

token="$(cat)"
[[ -n "$token" ]] || die "no token on stdin"

as_user mkdir -p "$secrets"
as_user chmod 700 "$secrets"
# nano: the buffer, a final newline added, the file created with the umask's mode.
printf '%s\n' "$token" | as_user sh -c 'cat > "$1"' sh "$token_file"
as_user chmod 600 "$token_file"
as_user sh -c 'test -r "$1" && echo gh-token-ok' sh "$token_file"

as_user mkdir -p "$codex_dir"
as_user chmod 700 "$codex_dir"
bash "$SCRIPT_DIR/../sandbox.sh" seed-codex "$codex_dir" >/dev/null
as_user find "$codex_dir" -maxdepth 3 -type f -ls >/dev/null

as_user mkdir -p "$workspace/auth-test"

for ((i = 0; i < ${#profiles[@]}; i += 2)); do
  repo="${profiles[i]}" src="${profiles[i + 1]}"
  [[ "$repo" =~ ^[^/[:space:]]+/[^/[:space:]]+$ ]] || die "--profile: '$repo' is not OWNER/NAME"
  dest="$workspace/cfg/repos/$repo/$trigger"
  as_user mkdir -p "$dest"
  for f in profile.json prompt.md; do
    [[ -f "$src/$f" ]] || die "--profile $repo: $src/$f is missing"
    # Read by root (the sources may sit in a directory private to the caller), written by the runtime user.
    as_user sh -c 'cat > "$1"' sh "$dest/$f" <"$src/$f"
  done
  say "profile $repo: $dest"
done
say "set up by hand as $RUSER: $secrets (gh-token with a line ending), $codex_dir, $workspace"
