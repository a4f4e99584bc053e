#!/usr/bin/env bash
# scripts/pin-host-key.sh — pin a host's SSH host key in the selected stack's config, without editing YAML.
#
#   scripts/pin-host-key.sh [--stack STACK] [--expect SHA256:FINGERPRINT] NAME ADDRESS [PORT] [USER]
#
#   --expect SHA256:...  the host key's fingerprint as the host itself shows it, read out of band (on its console:
#            ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). Without it, on a terminal, the script shows the
#            scanned key's fingerprint and asks; without it and without a terminal it refuses.
#   NAME     the host's name in the stack: lowercase letters, digits and '-', at most 40 (e.g. flows-1)
#   ADDRESS  host name or IP address the engine connects to
#   PORT     sshd port (default 22)
#   USER     SSH login (default root): root, the runtime user, or an admin with passwordless sudo (docs/logins.md)
#
# Reads the host's keys with ssh-keygen's ssh-keyscan and pins one only once the operator has compared its SHA256
# fingerprint with the host's own: with --expect, the key (ed25519, ecdsa or rsa) whose fingerprint is that one;
# a mismatch prints both and writes nothing. Interactively, the preferred key (ed25519, then ecdsa, then rsa)
# after a "yes". The scan crosses the network, so its answer proves nothing by itself: whoever sits on the path
# could answer it. The key goes as {name, address, port, user, hostKey} into the stack's `hosts` list with
# `pulumi config set-all --json`: the entry called NAME is updated (a `proxy` it has is kept), otherwise a new
# entry is appended. Nothing else in the config changes. Run it from the project directory (where Pulumi.yaml
# is), with the stack selected (or --stack) and the secrets provider's environment set (the passphrase).
# Exit status: 0 pinned; 1 the host, its key, the comparison or the stack config failed (nothing written);
# 2 bad arguments, or no way to compare (nothing was contacted).
set -Eeuo pipefail

# The config namespace is the project name (CONFIG_NAMESPACE in lib/config.ts).
readonly NAMESPACE=github-flows-host
readonly TIMEOUT=10
# Preference order; ssh-keyscan prints the keys in the order the server answers.
readonly KEY_TYPES=(ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521 ssh-rsa)

usage() {
    sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
# Messages quote user input with %q, so a hostile argument cannot write terminal escapes or look like output.
q() { printf '%q' "$1"; }
fail() { printf 'pin-host-key: %s\n' "$1" >&2; exit "${2:-1}"; }

stack_args=()
expect=""
while [[ ${1:-} == --stack || ${1:-} == --expect ]]; do
    [[ $# -ge 2 ]] || usage
    if [[ $1 == --stack ]]; then stack_args=(--stack "$2"); else expect=$2; fi
    shift 2
done
[[ ${1:-} == -h || ${1:-} == --help ]] && usage
[[ $# -ge 2 && $# -le 4 ]] || usage

name=$1 address=$2 port=${3:-22} user=${4:-root}

# The same rules as the config schema (lib/config.ts), checked before anything is contacted.
[[ $name =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] ||
    fail "bad NAME $(q "$name"): lowercase letters, digits and '-', at most 40, starting with a letter or digit (e.g. flows-1)" 2
[[ $address =~ ^[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$ ]] ||
    fail "bad ADDRESS $(q "$address"): a host name or IP address" 2
[[ $port =~ ^[0-9]{1,5}$ ]] && ((10#$port >= 1 && 10#$port <= 65535)) ||
    fail "bad PORT $(q "$port"): a port number 1-65535" 2
port=$((10#$port))
[[ $user =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] ||
    fail "bad USER $(q "$user"): a Unix user name ([a-z_][a-z0-9_-]*, at most 32)" 2

# The fingerprint as `ssh-keygen -lf` prints it: SHA256: and 43 base64 characters (no padding; '=' tolerated).
if [[ -n $expect ]]; then
    [[ $expect =~ ^SHA256:[A-Za-z0-9+/]{43}=?$ ]] ||
        fail "bad --expect $(q "$expect"): a SHA256 fingerprint as 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' prints it on the host (SHA256: and 43 characters)" 2
    expect=${expect%=}
elif [[ ! -t 0 ]]; then
    fail "no --expect and no terminal to ask on: the scanned key cannot be compared with the host's own, so nothing is pinned.
  Read the fingerprint out of band, on the host's console (or the cloud provider's console log):
    ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub
  then: $0 --expect SHA256:... $(q "$name") $(q "$address") $port $(q "$user")" 2
fi

for tool in ssh-keyscan ssh-keygen pulumi node timeout; do
    command -v "$tool" >/dev/null || fail "$tool is not on PATH (ssh-keyscan and ssh-keygen: the OpenSSH client)"
done
[[ -f Pulumi.yaml ]] || fail "no Pulumi.yaml in $(q "$PWD"): run this from the project directory"

# A TCP probe first, so "unreachable" and "not an SSH server" are told apart (ssh-keyscan is silent on both).
probe_rc=0
probe=$(timeout "$TIMEOUT" bash -c 'exec 3<>"/dev/tcp/$1/$2"' probe "$address" "$port" 2>&1) || probe_rc=$?
if ((probe_rc == 124)); then
    fail "cannot reach $address port $port: no answer within ${TIMEOUT} s (address, port, firewall?)"
elif ((probe_rc != 0)); then
    # bash's first line says why, e.g. "probe: connect: Connection refused" or "...: Name or service not known".
    probe=${probe%%$'\n'*}
    fail "cannot reach $address port $port: ${probe##*: }"
fi

scan=$(ssh-keyscan -T "$TIMEOUT" -p "$port" -t ed25519,ecdsa,rsa -- "$address" 2>/dev/null) || true
# Every key offered, in preference order, with its fingerprint (ssh-keygen also rejects a malformed key).
keys=() shas=() algos=() bitss=()
for type in "${KEY_TYPES[@]}"; do
    # Lines are "HOST TYPE BASE64"; comment lines start with '#'.
    k=$(awk -v t="$type" '$1 !~ /^#/ && $2 == t { print $2 " " $3; exit }' <<<"$scan")
    [[ -n $k ]] || continue
    fp=$(ssh-keygen -lf - <<<"$k" 2>/dev/null) ||
        fail "the $type key $address port $port presented is not a valid OpenSSH public key"
    read -r b s r <<<"$fp"
    r=${r##*(}
    keys+=("$k") shas+=("$s") bitss+=("$b") algos+=("${r%)}")
done
((${#keys[@]} > 0)) ||
    fail "no SSH host key from $address port $port (ssh-keyscan got none of ed25519, ecdsa, rsa): is an sshd listening there?"

# The comparison, before anything is written.
chosen=0
if [[ -n $expect ]]; then
    chosen=-1
    for i in "${!shas[@]}"; do [[ ${shas[i]} == "$expect" ]] && { chosen=$i; break; }; done
    if ((chosen < 0)); then
        {
            printf 'pin-host-key: host key mismatch for %s port %s: nothing was written.\n' "$address" "$port"
            printf '  expected (--expect):  %s\n' "$expect"
            for i in "${!shas[@]}"; do printf '  presented (%s):%*s%s\n' "${algos[i]}" $((8 - ${#algos[i]})) '' "${shas[i]}"; done
            printf '  Either the fingerprint was copied from another key or host, or something between here and %s answered\n' "$address"
            printf '  for it. Check on the host: ssh-keygen -lf /etc/ssh/ssh_host_<type>_key.pub\n'
        } >&2
        exit 1
    fi
else
    printf '%s: %s port %s presents %s key %s (%s bits)\n' "$name" "$address" "$port" "${algos[0]}" "${shas[0]}" "${bitss[0]}" >&2
    printf 'Compare it with the host'"'"'s own, read on its console: ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub\n' \
        "$(tr '[:upper:]' '[:lower:]' <<<"${algos[0]}")" >&2
    printf 'Pin this key for %s? Type yes if the fingerprints are the same: ' "$name" >&2
    answer=""
    read -r answer || true
    [[ $answer == yes ]] || fail "not pinned (answer was not 'yes'): nothing was written"
fi
key=${keys[chosen]} sha=${shas[chosen]} bits=${bitss[chosen]} algo=${algos[chosen]}

config=$(pulumi config "${stack_args[@]}" --json) ||
    fail "cannot read the stack's config: select or create the stack first (pulumi stack init/select) and set the secrets provider's environment (PULUMI_CONFIG_PASSPHRASE_FILE)"

# Values travel as argv to node (public data only) and out as JSON; no shell text is built from them.
update=$(node -e '
const [ns, name, address, port, user, hostKey] = process.argv.slice(1);
const key = `${ns}:hosts`;
const stop = (msg) => { process.stderr.write(msg); process.exit(1); };
let hosts = [];
try {
    const cur = JSON.parse(require("fs").readFileSync(0, "utf8"))[key];
    if (cur?.secret) stop(`${key} is a secret value; it must be plain config`);
    if (cur !== undefined) hosts = cur.objectValue ?? (cur.value === "" ? [] : JSON.parse(cur.value));
} catch (e) {
    stop(`cannot parse the stack config: ${e.message}`);
}
if (!Array.isArray(hosts)) stop(`${key} is not a list`);
const entry = { name, address, port: Number(port), user, hostKey };
const i = hosts.findIndex((h) => h && h.name === name);
const action = i < 0 ? `added as ${key}[${hosts.length}]` : `updated ${key}[${i}]`;
hosts = i < 0 ? [...hosts, entry] : hosts.map((h, j) => (j === i ? { ...entry, ...(h.proxy ? { proxy: h.proxy } : {}) } : h));
process.stdout.write(action + "\n" + JSON.stringify({ [key]: { value: JSON.stringify(hosts), objectValue: hosts, secret: false } }));
' "$NAMESPACE" "$name" "$address" "$port" "$user" "$key" <<<"$config" 2>&1) ||
    fail "cannot update $NAMESPACE:hosts: $update"
action=${update%%$'\n'*}

pulumi config set-all "${stack_args[@]}" --json "${update#*$'\n'}" ||
    fail "pulumi config set-all failed: $NAMESPACE:hosts is unchanged"

printf '%s: %s port %s presents %s key %s (%s bits)\n' "$name" "$address" "$port" "$algo" "$sha" "$bits"
printf '%s: pinned %s (SSH user %s): %s\n' "$name" "$action" "$user" "$key"
if [[ -n $expect ]]; then
    printf '%s: the fingerprint is the one given with --expect\n' "$name"
else
    printf '%s: the fingerprint was confirmed at the prompt\n' "$name"
fi
