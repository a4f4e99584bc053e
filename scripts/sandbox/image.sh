# The sandbox's agent image (sourced by scripts/sandbox.sh): a debootstrapped Debian with the real gh and codex,
# built once per recipe version and cached under $CACHE, then pushed to the sandbox's registry.

apt_mirror() {
  if [[ -n "${GFH_SANDBOX_MIRROR:-}" ]]; then echo "$GFH_SANDBOX_MIRROR"; return; fi
  # deb822 stanzas first (Debian 12 default), then one-line sources; the stanza whose Suites has "bookworm".
  local m
  m="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
      /^[[:space:]]*$/ { if (u != "" && s ~ /(^|[[:space:]])bookworm([[:space:]]|$)/ && !found) { print u; found = 1 } u = ""; s = ""; next }
      /^URIs:/ { u = $2 } /^Suites:/ { s = $0 }
      END { if (u != "" && s ~ /(^|[[:space:]])bookworm([[:space:]]|$)/ && !found) print u }')"
  [[ -z "$m" ]] && m="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '!found && $1 == "deb" && $3 == "bookworm" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; found = 1; break } }')"
  [[ -n "$m" ]] || return 1
  echo "$m"
}

image_key() { echo "v$IMAGE_FORMAT_VERSION-bookworm-codex$CODEX_VERSION-$RUSER-$RUID-$RGID"; }

build_image() { # -> loads $BUILD_TAG into the daemon and saves it to $1
  local tarball="$1" mirror codex_tgz rootfs
  mirror="$(apt_mirror)" || die "no bookworm apt mirror found in /etc/apt/sources.list.d (set GFH_SANDBOX_MIRROR)"
  codex_tgz="$CACHE/openai-codex-$CODEX_VERSION-linux-x64.tgz"
  if [[ ! -s "$codex_tgz" ]]; then
    say "image: fetching codex $CODEX_VERSION (npm pack @openai/codex@$CODEX_VERSION-linux-x64, ~170 MB)"
    local tmp; tmp="$(mktemp -d "$CACHE/npm.XXXXXX")"
    (cd "$tmp" && npm pack --silent "@openai/codex@$CODEX_VERSION-linux-x64" --pack-destination "$tmp") >"$STATE/npm-pack.log" 2>&1 ||
      { tail_log "$STATE/npm-pack.log"; rm -rf "$tmp"; die "npm pack of codex failed"; }
    mv "$tmp"/openai-codex-*.tgz "$codex_tgz" && rm -rf "$tmp"
  fi
  rootfs="$CACHE/rootfs.$$"
  rm -rf "$rootfs"
  say "image: debootstrap bookworm minbase from $mirror (log $STATE/debootstrap.log)"
  debootstrap --variant=minbase --include=bash,gh,ca-certificates bookworm "$rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1 ||
    { tail_log "$STATE/debootstrap.log"; rm -rf "$rootfs"; die "debootstrap failed"; }
  say "image: debootstrap done ($(elapsed)); adding codex and user $RUSER ($RUID:$RGID)"
  tar -xzf "$codex_tgz" -C "$rootfs/tmp" package/vendor/x86_64-unknown-linux-musl/bin/codex
  install -m 755 "$rootfs/tmp/package/vendor/x86_64-unknown-linux-musl/bin/codex" "$rootfs/usr/local/bin/codex"
  rm -rf "$rootfs/tmp/package"
  chroot "$rootfs" groupadd -g "$RGID" "$RUSER"
  chroot "$rootfs" useradd -m -d "/home/$RUSER" -s /bin/bash -u "$RUID" -g "$RGID" "$RUSER"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* 2>/dev/null || true
  say "image: docker import -> $BUILD_TAG"
  tar -C "$rootfs" -c . | docker import -c "USER $RUSER" -c "ENV HOME=/home/$RUSER" \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c "ENV GH_HOST=$GITHUB_HOST" \
    - "$BUILD_TAG" >/dev/null
  rm -rf "$rootfs"
  say "image: saving $tarball for later runs"
  docker save -o "$tarball.tmp" "$BUILD_TAG" && mv "$tarball.tmp" "$tarball"
  # keep only the newest image tarball
  find "$CACHE" -maxdepth 1 -name 'image-*.tar' ! -path "$tarball" -delete
}

verify_image() {
  local ref="$1" out
  out="$(docker run --rm --network host "$ref" bash -lc 'gh --version | sed -n 1p && codex --help >/dev/null && id' 2>&1)" ||
    { echo "$out" >&2; die "image check (gh --version, codex --help, id) failed"; }
  grep -q "uid=$RUID($RUSER)" <<<"$out" || { echo "$out" >&2; die "image user is not $RUSER with uid $RUID"; }
  say "image: $(head -1 <<<"$out"); $(tail -1 <<<"$out")"
  out="$(docker run --rm --network host -e GH_TOKEN="$VALID_TOKEN" -e BAD=ghp_sandboxnotvalid "$ref" bash -lc '
      set -u -o pipefail
      login="$(gh api user --jq .login)" || { echo "FAIL gh api user"; exit 1; }
      echo "login=$login"
      gh repo view acme/demo | sed -n 1p || { echo "FAIL gh repo view acme/demo"; exit 1; }
      if GH_TOKEN=$BAD gh api user >/dev/null 2>&1; then echo "FAIL bad token accepted"; exit 1; fi
      if gh repo view acme/private >/dev/null 2>&1; then echo "FAIL acme/private visible"; exit 1; fi
      echo "bad token and acme/private refused"' 2>&1)" ||
    { echo "$out" >&2; tail_log "$STATE/fake-github.log" 10; die "gh in the image against the fake GitHub API failed"; }
  grep -q "login=$VALID_LOGIN" <<<"$out" || { echo "$out" >&2; die "unexpected gh output in the image"; }
  say "image: gh in the container -> $(tr '\n' ' ' <<<"$out")"
  curl -fsS -m 2 -X DELETE -o /dev/null "http://127.0.0.1:$CONTROL_PORT/_control/requests" || true
}

remove_agent_images() { # every local tag of the agent image (plain and registry name), and containers using them
  local refs c
  refs="$(docker images --format '{{.Repository}}:{{.Tag}}' | awk -F: -v a="$IMAGE_REPO" -v b="127.0.0.1:$REGISTRY_PORT/$IMAGE_REPO" '
           { repo = $0; sub(/:[^:]*$/, "", repo) } repo == a || repo == b')"
  [[ -z "$refs" ]] && return 0
  for r in $refs; do
    c="$(docker ps -aq --filter "ancestor=$r")"
    [[ -n "$c" ]] && docker rm -f $c >/dev/null
  done
  docker rmi -f $refs >/dev/null
  echo "$refs" | tr '\n' ' '
}

phase_image() {
  PHASE=image
  local key tarball marker="$STATE/image.key"
  key="$(image_key)"
  if registry_has_image && [[ -s "$marker" && "$(cat "$marker")" == "$key" ]]; then
    say "image: $IMAGE_REF present in the registry ($key)"
    return
  fi
  tarball="$CACHE/image-$key.tar"
  if [[ -s "$tarball" ]]; then
    say "image: docker load $tarball"
    docker load -q -i "$tarball" >/dev/null || die "docker load $tarball failed"
  else
    build_image "$tarball"
  fi
  docker tag "$BUILD_TAG" "$IMAGE_REF"
  say "image: pushing $IMAGE_REF"
  docker push -q "$IMAGE_REF" >"$STATE/push.log" 2>&1 || { tail_log "$STATE/push.log"; die "docker push $IMAGE_REF failed"; }
  verify_image "$IMAGE_REF"
  # The host must start without the image: the program under test pulls it.
  docker rmi "$IMAGE_REF" "$BUILD_TAG" >/dev/null
  echo "$key" >"$marker"
  say "image: pushed and verified, local tags removed ($(elapsed))"
}
