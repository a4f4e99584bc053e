# scripts/node-env.sh — sourced by test.sh, up-local.sh and bench/run.sh: the toolchain's Node.js for everything.
# (The version is pinned once, NODE_VERSION in scripts/toolchain.sh.)

# Puts the toolchain's Node.js first on PATH (npm/npx, tsc, vitest, pulumi's language host and dynamic providers
# all run `node` from PATH) and hands node-gyp its headers, so native addons (ssh2's) build without a download.
gfh_node() { # $1 = repo root
  local bin
  bin="$(bash "$1/scripts/toolchain.sh" node)" || return 1
  export PATH="$bin:$PATH" npm_config_nodedir="${bin%/bin}"
}

# npm ci when package-lock.json changed or node_modules was installed under another Node.js ABI.
gfh_node_modules() { # $1 = repo root
  local abi stamp="$1/node_modules/.gfh-node-abi"
  abi="$(node -p process.versions.modules)"
  if [ ! -d "$1/node_modules" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ] ||
     [ "$(cat "$stamp" 2>/dev/null)" != "$abi" ]; then
    (cd "$1" && npm ci --no-audit --no-fund) || return 1
    printf '%s\n' "$abi" >"$stamp"
  fi
}
