#!/usr/bin/env bash
# scripts/pin-host-key.sh — pin a host's SSH host key in the selected stack's config, without editing YAML.
#
#   scripts/pin-host-key.sh [--stack STACK] NAME ADDRESS [PORT] [USER]
#
#   NAME     the host's name in the stack: lowercase letters, digits and '-', at most 40 (e.g. flows-1)
#   ADDRESS  host name or IP address the engine connects to
#   PORT     sshd port (default 22)
#   USER     SSH login (default root; root or the runtime user, see README "Production")
#
# Reads the host's key with ssh-keyscan (ed25519 preferred, then ecdsa, then rsa), prints its SHA256 fingerprint
# for the out-of-band check, and writes {name, address, port, user, hostKey} into the stack's `hosts` list with
# `pulumi config set-all --json`: the entry called NAME is updated (a `proxy` it has is kept), otherwise a new
# entry is appended. Nothing else in the config changes. Run it from the project directory (where Pulumi.yaml
# is), with the stack selected (or --stack) and the secrets provider's environment set (the passphrase).
#
# Compare the fingerprint with the host's own before `pulumi up` (on its console:
# `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`): the pinned key is the only one the program accepts.
# Exit status: 0 pinned; 1 the host, its key or the stack config failed; 2 bad arguments (nothing was contacted).
set -Eeuo pipefail

# The config namespace is the project name (CONFIG_NAMESPACE in lib/config.ts).
readonly NAMESPACE=github-flows-host
readonly TIMEOUT=10
# Preference order; ssh-keyscan prints the keys in the order the server answers.
readonly KEY_TYPES=(ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521 ssh-rsa)

usage() {
    sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
# Messages quote user input with %q, so a hostile argument cannot write terminal escapes or look like output.
q() { printf '%q' "$1"; }
fail() { printf 'pin-host-key: %s\n' "$1" >&2; exit "${2:-1}"; }

stack_args=()
if [[ ${1:-} == --stack ]]; then
    [[ $# -ge 2 ]] || usage
    stack_args=(--stack "$2")
    shift 2
fi
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
key=""
for type in "${KEY_TYPES[@]}"; do
    # Lines are "HOST TYPE BASE64"; comment lines start with '#'.
    key=$(awk -v t="$type" '$1 !~ /^#/ && $2 == t { print $2 " " $3; exit }' <<<"$scan")
    [[ -n $key ]] && break
done
[[ -n $key ]] ||
    fail "no SSH host key from $address port $port (ssh-keyscan got none of ed25519, ecdsa, rsa): is an sshd listening there?"

# ssh-keygen rejects a malformed key, and gives the fingerprint an operator compares with the host's console.
fingerprint=$(ssh-keygen -lf - <<<"$key" 2>/dev/null) ||
    fail "the key $address port $port presented is not a valid OpenSSH public key"
read -r bits sha rest <<<"$fingerprint"
algo=${rest##*(}
algo=${algo%)}

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
printf '%s: check the fingerprint before `pulumi up`, on the host itself: ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub\n' \
    "$name" "$(tr '[:upper:]' '[:lower:]' <<<"$algo")"
