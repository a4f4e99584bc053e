// One recipe for a Pulumi stack on the sandbox host, used by the e2e harness (imported), bench/lib/common.sh
// and scripts/up-local.sh (run):
//
//   node scripts/sandbox/stack.mjs [--stack NAME] [--path defaults|ssh2] [--hosts JSON | --login admin] [--repositories JSON] [--openai-api-key]
//
// run in the project directory (PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE in the environment; the selected
// stack unless --stack), the sandbox up. The sandbox's description comes from `scripts/sandbox.sh env`.
// Plain keys go in with one `pulumi config set-all --json` (structured values stay YAML structure: Pulumi.yaml
// types them); secrets go in on stdin, never on a command line.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SANDBOX_SH = join(dirname(fileURLToPath(import.meta.url)), "..", "sandbox.sh");

/** `scripts/sandbox.sh env` as a record of its `GFH_*` variables; throws when the sandbox is down. */
export function sandboxEnv() {
    let text;
    try {
        text = execFileSync("bash", [SANDBOX_SH, "env"], { encoding: "utf8" });
    } catch (e) {
        throw new Error(`the sandbox host is not running: run 'bash scripts/sandbox.sh up' as root first (${e.message})`);
    }
    const env = {};
    for (const line of text.split("\n")) {
        const m = /^(GFH_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
        if (m) env[m[1]] = m[2].replace(/^'(.*)'$/, "$1").replace(/^"(.*)"$/, "$1");
    }
    return env;
}

/** The two ways to reach a host: the design card's providers (the defaults) and the plugin-free ssh2 path. */
export const PATHS = {
    /** `@pulumi/command` remote.Command and `@pulumi/docker` RemoteImage: what an operator gets. */
    defaults: {},
    /** `remoteCommands: ssh2`, `imageSource: ssh-pull`: everything over the stack's own SSH connection. */
    ssh2: { imageSource: "ssh-pull", remoteCommands: "ssh2" },
};
const PATH_KEYS = ["imageSource", "remoteCommands"];

/** The stack config for the sandbox host `sb` (see `sandbox()`) on `path`. */
export function sandboxConfig(sb, { path = "defaults", hosts, repositories = ["acme/demo"] } = {}) {
    if (!(path in PATHS)) throw new Error(`unknown path '${path}' (one of ${Object.keys(PATHS).join(", ")})`);
    return {
        plain: {
            hosts: hosts ?? [{ name: "sandbox", address: sb.host, port: sb.port, user: sb.sshUser, hostKey: sb.hostKey }],
            repositories,
            githubHost: sb.githubHost,
            imagePullFrom: sb.imageRef,
            // The sandbox's fake GitHub API listens on the machine's loopback.
            checkDockerArgs: ["--network", "host"],
            ...PATHS[path],
        },
        secrets: { sshPrivateKey: readFileSync(sb.keyFile, "utf8"), githubToken: sb.validToken },
    };
}

/**
 * The sandbox host reached as `user` through the port where root is refused (a cloud image's sshd): the sudo admin
 * (default), or an account that cannot become root.
 */
export function rootRefusedHost(sb, user = sb.adminUser) {
    return { name: "sandbox", address: sb.host, port: sb.adminPort, user, hostKey: sb.hostKey };
}

/** `pulumi config set-all --json` text for plain values (strings stay strings, the rest YAML structure). */
export function setAllJson(plain) {
    const o = {};
    for (const [k, v] of Object.entries(plain)) {
        o[`github-flows-host:${k}`] = typeof v === "string" ? { value: v, secret: false } : { value: JSON.stringify(v), objectValue: v, secret: false };
    }
    return JSON.stringify(o);
}

/** The sandbox host as `scripts/sandbox.sh env` describes it (fields: stack.d.mts `Sandbox`); throws when it is down. */
export function sandbox() {
    const env = sandboxEnv();
    const need = (k) => {
        if (!env[k]) throw new Error(`sandbox env lacks ${k}`);
        return env[k];
    };
    return {
        host: need("GFH_SANDBOX_HOST"),
        port: Number(need("GFH_SANDBOX_PORT")),
        sshUser: need("GFH_SANDBOX_SSH_USER"),
        rootUser: need("GFH_SANDBOX_ROOT_USER"),
        adminPort: Number(need("GFH_SANDBOX_ADMIN_PORT")),
        adminUser: need("GFH_SANDBOX_ADMIN_USER"),
        noSudoUser: need("GFH_SANDBOX_NOSUDO_USER"),
        pwSudoUser: need("GFH_SANDBOX_PWSUDO_USER"),
        keyFile: need("GFH_SANDBOX_KEY_FILE"),
        knownHosts: need("GFH_SANDBOX_KNOWN_HOSTS"),
        hostKey: need("GFH_SANDBOX_HOST_KEY"),
        hostKeyEcdsa: need("GFH_SANDBOX_HOST_KEY_ECDSA"),
        hostKeyRsa: need("GFH_SANDBOX_HOST_KEY_RSA"),
        imageRef: need("GFH_SANDBOX_IMAGE_REF"),
        githubHost: need("GFH_SANDBOX_GITHUB_HOST"),
        validToken: need("GFH_SANDBOX_VALID_TOKEN"),
        rotatedToken: need("GFH_SANDBOX_ROTATED_TOKEN"),
        githubLogin: need("GFH_SANDBOX_GITHUB_LOGIN"),
        controlUrl: need("GFH_SANDBOX_CONTROL_URL"),
        stateDir: need("GFH_SANDBOX_STATE_DIR"),
    };
}

function main(argv) {
    const opts = {};
    const stack = [];
    let openaiApiKey = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--stack") stack.push("--stack", argv[++i]);
        else if (a === "--path") opts.path = argv[++i];
        else if (a === "--hosts") opts.hosts = JSON.parse(argv[++i]);
        else if (a === "--login") opts.login = argv[++i];
        else if (a === "--repositories") opts.repositories = JSON.parse(argv[++i]);
        else if (a === "--openai-api-key") openaiApiKey = true;
        else throw new Error(`unknown argument '${a}'`);
    }
    const sb = sandbox();
    if (opts.login) opts.hosts = [rootRefusedHost(sb, opts.login)];
    const { plain, secrets } = sandboxConfig(sb, opts);
    const pulumi = (args, input = "") => execFileSync("pulumi", [...args, ...stack, "--non-interactive"], { input, stdio: ["pipe", "ignore", "inherit"] });
    // A stack used on the other path before keeps nothing of it (`config rm` of a key not set is harmless).
    for (const k of PATH_KEYS) if (!(k in plain)) pulumi(["config", "rm", k]);
    pulumi(["config", "set-all", "--json", setAllJson(plain)]);
    for (const [k, v] of Object.entries(secrets)) pulumi(["config", "set", "--secret", k], v);
    if (openaiApiKey) pulumi(["config", "set", "--secret", "openaiApiKey"], "sk-sandbox-local-key");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        console.error(`sandbox stack: ${e.message}`);
        process.exit(1);
    }
}
