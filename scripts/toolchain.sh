#!/usr/bin/env bash
# scripts/toolchain.sh — make the Pulumi engine available offline.
#
# Provides, in one bin dir:
#   pulumi                         Pulumi CLI, built from github.com/pulumi/pulumi/pkg/v3 (toolchain/cli)
#   pulumi-language-nodejs         Node.js language host, built from github.com/pulumi/pulumi/sdk/v3 (toolchain/langhost)
#   pulumi-resource-pulumi-nodejs  launcher for Node.js dynamic providers (pulumi.dynamic.Resource)
#   pulumi-resource-command        only if its Go module can be fetched (it currently cannot; non-fatal)
# The CLI finds the language host and the dynamic-provider launcher next to its own binary.
#
# Usage:
#   PATH="$(scripts/toolchain.sh):$PATH"
#
# Contract: stdout receives exactly ONE line, the absolute bin dir (so `$(scripts/toolchain.sh)` and
# `$(scripts/toolchain.sh | tail -1)` both work). All progress and version lines go to stderr.
# Exit status is non-zero if pulumi or the language host cannot be provided.
#
# Versions (pinned in one place each):
#   Pulumi CLI:    "@pulumi/pulumi" in package.json (default 3.276.0). toolchain/cli/go.mod + go.sum are
#                  the committed lock for that version; if package.json moves on, the build copy is re-pinned
#                  and `go mod tidy`-ed in the cache (needs the Go module proxy) and a note is printed.
#   Language host: LANGHOST_SDK_VERSION below.
#
# Environment:
#   GFH_CACHE           cache root (default /var/cache/github-flows-host); binaries land in
#                       $GFH_CACHE/toolchain/<pulumi-version>/bin
#   GFH_TOOLCHAIN_REBUILD=1        ignore cached binaries and rebuild
#   GFH_TOOLCHAIN_RETRY_COMMAND=1  retry fetching/building pulumi-resource-command even if a previous
#                                  run recorded it as unavailable
#   GFH_GO_PARALLEL     go build -p value (default: number of CPUs, capped at 4)
# Go's own GOCACHE/GOMODCACHE/GOPROXY/GOTOOLCHAIN settings are respected (defaults are fine).
set -euo pipefail

# Newest github.com/pulumi/pulumi/sdk/v3 release that the Go module proxy serves here AND that still
# contains the package sdk/v3/nodejs/cmd/pulumi-language-nodejs (v3.90.0 no longer has it; the later
# standalone module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 is not served).
# An old host works with the new CLI: the CLI falls back from Handshake/GetRequiredPackages to the
# older RPCs when they answer Unimplemented.
LANGHOST_SDK_VERSION=3.68.0
DEFAULT_PULUMI_VERSION=3.276.0
DEFAULT_COMMAND_VERSION=1.2.1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'toolchain: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- versions ---------------------------------------------------------------------------------------
pkg_version() { # $1 = npm package name, $2 = default
  local v=""
  if [[ -f "$ROOT/package.json" ]] && command -v node >/dev/null 2>&1; then
    v="$(cd "$ROOT" && node -p "((require('./package.json').dependencies||{})['$1'])||''" 2>/dev/null || true)"
  fi
  v="${v#^}"; v="${v#~}"; v="${v#v}"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || v="$2"
  printf '%s' "$v"
}
PULUMI_VERSION="$(pkg_version @pulumi/pulumi "$DEFAULT_PULUMI_VERSION")"
COMMAND_VERSION="$(pkg_version @pulumi/command "$DEFAULT_COMMAND_VERSION")"

CACHE_ROOT="${GFH_CACHE:-/var/cache/github-flows-host}/toolchain"
VDIR="$CACHE_ROOT/$PULUMI_VERSION"
BIN="$VDIR/bin"

export PULUMI_SKIP_UPDATE_CHECK=1

# --- checks of an existing bin dir --------------------------------------------------------------------
cli_version() { "$1/pulumi" version 2>/dev/null | tr -d '[:space:]'; }

# go version -m reads the embedded build info: proves which sdk/v3 the language host was built from.
langhost_sdk_version() {
  command -v go >/dev/null 2>&1 || { cat "$1/.langhost-sdk-version" 2>/dev/null || true; return; }
  go version -m "$1/pulumi-language-nodejs" 2>/dev/null |
    awk '$1=="dep" && $2=="github.com/pulumi/pulumi/sdk/v3" {print $3; exit}
         $1=="mod" && $2=="github.com/pulumi/pulumi/sdk/v3" {print $3; exit}'
}

bin_ok() { # $1 = dir
  [[ -x "$1/pulumi" && -x "$1/pulumi-language-nodejs" && -x "$1/pulumi-resource-pulumi-nodejs" ]] &&
    [[ "$(cli_version "$1")" == "v$PULUMI_VERSION" ]]
}

report() { # $1 = dir
  local d="$1"
  log "pulumi $(cli_version "$d") ($d/pulumi)"
  local lh; lh="$(langhost_sdk_version "$d" || true)"
  if [[ -x "$d/pulumi-language-nodejs" ]]; then
    log "pulumi-language-nodejs from sdk/v3 ${lh:-unknown} ($d/pulumi-language-nodejs)"
  else
    log "pulumi-language-nodejs: not next to pulumi (the CLI then looks on PATH)"
  fi
  [[ -x "$d/pulumi-resource-pulumi-nodejs" ]] && log "pulumi-resource-pulumi-nodejs: launcher script"
  if [[ -x "$d/pulumi-resource-command" ]]; then
    log "pulumi-resource-command v$COMMAND_VERSION ($d/pulumi-resource-command)"
  elif [[ -f "$VDIR/command-provider.unavailable" ]]; then
    log "pulumi-resource-command unavailable: $(head -1 "$VDIR/command-provider.unavailable")"
  fi
}

# --- pulumi already on PATH at the pinned version? ------------------------------------------------------
if [[ "${GFH_TOOLCHAIN_REBUILD:-}" != 1 ]] && command -v pulumi >/dev/null 2>&1; then
  onpath="$(cd "$(dirname "$(command -v pulumi)")" && pwd -P)"
  if [[ "$onpath" != "$(cd "$BIN" 2>/dev/null && pwd -P || echo /nonexistent)" ]] &&
     [[ "$(cli_version "$onpath")" == "v$PULUMI_VERSION" ]] &&
     [[ -x "$onpath/pulumi-language-nodejs" ]]; then
    log "using pulumi v$PULUMI_VERSION already on PATH"
    report "$onpath"
    printf '%s\n' "$onpath"
    exit 0
  fi
fi

# --- warm path ------------------------------------------------------------------------------------------
if [[ "${GFH_TOOLCHAIN_REBUILD:-}" != 1 ]] && bin_ok "$BIN"; then
  log "cached toolchain for pulumi v$PULUMI_VERSION"
  report "$BIN"
  printf '%s\n' "$BIN"
  exit 0
fi

# --- cold path: build -----------------------------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "go not found on PATH (Go >= 1.26.6 is needed to build the Pulumi CLI)"
mkdir -p "$VDIR"
exec 9>"$VDIR/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9 || die "cannot lock $VDIR/.lock"
  # Another run may have finished the build while we waited.
  if [[ "${GFH_TOOLCHAIN_REBUILD:-}" != 1 ]] && bin_ok "$BIN"; then
    log "cached toolchain for pulumi v$PULUMI_VERSION (built by a concurrent run)"
    report "$BIN"; printf '%s\n' "$BIN"; exit 0
  fi
fi

ncpu="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
(( ncpu > 4 )) && ncpu=4
GOPAR="${GFH_GO_PARALLEL:-$ncpu}"
# Static binaries, no VCS stamping, module mode regardless of the caller's GOFLAGS.
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"

STAGE="$VDIR/bin.tmp.$$"
SRC="$VDIR/src"
LOGDIR="$VDIR/logs"
rm -rf "$STAGE" "$SRC"
mkdir -p "$STAGE" "$SRC" "$LOGDIR"
trap 'rm -rf "$STAGE"' EXIT

# Run a go command in a dir, output to a log; on failure show its tail and return non-zero.
gorun() { # $1 = dir, $2 = log name, rest = go args
  local dir="$1" logf="$LOGDIR/$2.log"; shift 2
  if ! (cd "$dir" && go "$@") >"$logf" 2>&1; then
    log "go $* failed (log: $logf):"
    tail -n 25 "$logf" | sed 's/^/    /' >&2
    return 1
  fi
}

# Copy a committed wrapper module to the cache and (re)pin it; tidy only if the pin moved.
prepare_module() { # $1 = toolchain subdir, $2 = version, rest = module paths to pin
  local name="$1" ver="$2"; shift 2
  local dst="$SRC/$name" changed=0 m cur
  cp -r "$ROOT/toolchain/$name" "$dst"
  for m in "$@"; do
    cur="$(cd "$dst" && go list -m -f '{{.Version}}' "$m" 2>/dev/null || true)"
    if [[ "$cur" != "v$ver" ]]; then
      (cd "$dst" && go mod edit -require="$m@v$ver")
      changed=1
    fi
  done
  if (( changed )); then
    log "note: toolchain/$name/go.mod pins another version than v$ver; re-pinning the build copy (update the committed go.mod/go.sum from $dst)"
    gorun "$dst" "$name-tidy" mod tidy || return 1
  fi
}

t0=$SECONDS
log "go: $(go version | awk '{print $3}'), build parallelism -p $GOPAR, cache $VDIR"

log "building pulumi CLI v$PULUMI_VERSION (cold, several minutes)..."
prepare_module cli "$PULUMI_VERSION" github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/sdk/v3 ||
  die "cannot prepare toolchain/cli"
gorun "$SRC/cli" cli-build build -p "$GOPAR" -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
  -o "$STAGE/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi || die "pulumi CLI build failed"
log "pulumi CLI built ($((SECONDS - t0)) s)"

t1=$SECONDS
log "building pulumi-language-nodejs from sdk/v3 v$LANGHOST_SDK_VERSION..."
prepare_module langhost "$LANGHOST_SDK_VERSION" github.com/pulumi/pulumi/sdk/v3 ||
  die "cannot prepare toolchain/langhost"
gorun "$SRC/langhost" langhost-build build -p "$GOPAR" -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGHOST_SDK_VERSION" \
  -o "$STAGE/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs ||
  die "pulumi-language-nodejs build failed"
printf 'v%s\n' "$LANGHOST_SDK_VERSION" >"$STAGE/.langhost-sdk-version"
log "pulumi-language-nodejs built ($((SECONDS - t1)) s)"

log "writing pulumi-resource-pulumi-nodejs launcher..."
# Same behaviour as the launcher shipped in Pulumi's CLI bundle: the CLI starts it in the program's
# directory, and it runs the dynamic-provider entry point of the program's own @pulumi/pulumi.
cat >"$STAGE/pulumi-resource-pulumi-nodejs" <<'EOF'
#!/bin/sh
# Pulumi Node.js dynamic provider launcher (written by scripts/toolchain.sh).
entry=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))") || exit 1
[ -n "$entry" ] || exit 1
exec node "$entry" "$@"
EOF
chmod 755 "$STAGE/pulumi-resource-pulumi-nodejs"

# --- pulumi-resource-command: best effort ----------------------------------------------------------------
CMD_MARK="$VDIR/command-provider.unavailable"
if [[ -f "$CMD_MARK" && "${GFH_TOOLCHAIN_RETRY_COMMAND:-}" != 1 ]]; then
  log "pulumi-resource-command unavailable: $(head -1 "$CMD_MARK") (recorded earlier; GFH_TOOLCHAIN_RETRY_COMMAND=1 retries)"
else
  log "trying pulumi-resource-command v$COMMAND_VERSION (github.com/pulumi/pulumi-command/provider)..."
  cmdsrc="$SRC/command"
  mkdir -p "$cmdsrc"
  cmd_err=""
  (cd "$cmdsrc" && go mod init github-flows-host/toolchain/command >/dev/null 2>&1) || true
  if ! out="$(cd "$cmdsrc" && go mod download -json "github.com/pulumi/pulumi-command/provider@v$COMMAND_VERSION" 2>&1)" ||
     grep -q '"Error"' <<<"$out"; then
    # Ask for @latest too: its answer says whether the module is served at all.
    latest="$(cd "$cmdsrc" && go mod download -json "github.com/pulumi/pulumi-command/provider@latest" 2>&1 || true)"
    # The JSON "Error" field of `go mod download -json`, else go's first output line.
    pick() {
      local e
      e="$(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$1" | sed 's/\\n\\t/ /g; s/\\n/ /g; s/\\t/ /g' | head -1)"
      [[ -n "$e" ]] || e="$(grep -m1 -v '^[[:space:]]*$' <<<"$1" || true)"
      printf '%s' "$e"
    }
    cmd_err="v$COMMAND_VERSION: $(pick "$out")"
    [[ -n "$(pick "$latest")" ]] && cmd_err="$cmd_err | latest: $(pick "$latest")"
  elif ! gorun "$cmdsrc" command-get get "github.com/pulumi/pulumi-command/provider@v$COMMAND_VERSION" ||
       ! gorun "$cmdsrc" command-build build -p "$GOPAR" -trimpath \
         -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v$COMMAND_VERSION" \
         -o "$STAGE/pulumi-resource-command" github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command; then
    cmd_err="$(grep -m1 -E '^(go: |#|.*error)' "$LOGDIR"/command-*.log 2>/dev/null | head -1 || echo 'build failed')"
  fi
  if [[ -n "$cmd_err" ]]; then
    printf '%s\n' "$cmd_err" >"$CMD_MARK"
    log "pulumi-resource-command unavailable: $cmd_err"
  else
    rm -f "$CMD_MARK"
    log "pulumi-resource-command built"
  fi
fi

# --- install ----------------------------------------------------------------------------------------------
[[ "$(cli_version "$STAGE")" == "v$PULUMI_VERSION" ]] ||
  die "built pulumi reports '$(cli_version "$STAGE")', expected v$PULUMI_VERSION"
rm -rf "$BIN.old"
[[ -d "$BIN" ]] && mv "$BIN" "$BIN.old"
mv "$STAGE" "$BIN"
rm -rf "$BIN.old" "$SRC"
trap - EXIT
log "toolchain ready in $((SECONDS - t0)) s"
report "$BIN"
printf '%s\n' "$BIN"
