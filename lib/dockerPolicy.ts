import { isIP } from "net";
import { DockerOption, MountSpec, parseMountValue, parseRunArgs, parseVolumeValue, VOLUME_NAME, VolumeSpec } from "./dockerArgs";

/** A host path a `docker run` argument mounts into the container. */
export interface HostMount {
    source: string;
    target: string;
    readonly: boolean;
    /** The argument it came from, for messages. */
    spec: string;
}

/**
 * The `docker run` options a profile (`profile.dockerArgs`) or the checks (`checkDockerArgs`) may use, with what
 * each is for; any other option is refused by name. Values are checked by `optionProblem`.
 */
export const ACCEPTED_DOCKER_RUN_OPTIONS: Readonly<Record<string, string>> = {
    mount: "bind mounts of the allowed sources only (the credential paths, the workspace, allowedBindSources), named or anonymous volumes, tmpfs",
    volume: "the same in -v syntax: /host:/dst[:ro], name:/dst, /dst",
    tmpfs: "scratch space",
    env: "NAME=VALUE settings (never credentials)",
    label: "bookkeeping",
    network: "host, none, bridge, default or a named network (the sandbox has no bridge: --network host)",
    net: "the old spelling of --network",
    "add-host": "name resolution",
    dns: "name resolution",
    "dns-search": "name resolution",
    memory: "limits",
    "memory-swap": "limits",
    "memory-reservation": "limits",
    cpus: "limits",
    "cpu-shares": "limits",
    "pids-limit": "limits",
    "shm-size": "limits",
    "read-only": "hardening",
    init: "signal forwarding (GitHub Flows passes it too)",
    "cap-drop": "hardening",
    "security-opt": "no-new-privileges only (never =false)",
    user: "a numeric UID[:GID] other than 0, to match the runtime user's uid on the host (profiles only: the checks set it)",
    workdir: "the container's working directory",
};

/** Why some refused options are dangerous; every other refused option gets the generic message. */
const REFUSED_BECAUSE: Readonly<Record<string, string>> = {
    privileged: "it gives the container every capability and the host's devices",
    "cap-add": "it adds kernel capabilities",
    device: "it passes host devices",
    gpus: "it passes host devices",
    "device-cgroup-rule": "it opens host devices",
    pid: "it can share the host's processes",
    ipc: "it can share the host's IPC namespace",
    uts: "it can share the host's UTS namespace",
    userns: "it can turn off user namespace remapping",
    cgroupns: "it can share the host's cgroup namespace",
    "env-file": "docker reads the file on the host (e.g. the app .env)",
    "label-file": "docker reads the file on the host",
    cidfile: "docker writes the file on the host",
    "volumes-from": "it copies another container's mounts",
    "use-api-socket": "it mounts the Docker API socket",
    "volume-driver": "a volume plugin can mount anything",
    runtime: "it selects another container runtime",
};

/** docker's RAMInBytes. */
const SIZE = /^[0-9]+(\.[0-9]+)* ?[kKmMgGtTpP]?[iI]?[bB]?$/;

/** Why the value of an accepted option is refused, or undefined. Mounts are judged separately. */
function optionProblem(name: string, value: string): string | undefined {
    switch (name) {
        case "env":
            if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(value)) return "needs NAME=VALUE; a bare NAME forwards the variable of whoever runs docker";
            return undefined;
        case "network":
        case "net":
            return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value) ? undefined : "must be host, none, bridge, default or a network name (not container:<name>)";
        case "security-opt":
            // Only the true forms: a later `no-new-privileges=false` would undo the one the checks set.
            return /^no-new-privileges([=:](1|t|T|TRUE|true|True))?$/.test(value) ? undefined : "only no-new-privileges (true) is accepted";
        case "user":
            return /^[1-9][0-9]*(:[1-9][0-9]*)?$/.test(value) ? undefined : "must be a numeric UID[:GID] other than 0 (root)";
        case "workdir":
        case "tmpfs":
            return value.startsWith("/") ? undefined : "must be an absolute container path";
        // Values docker would refuse make every run fail: refuse them here, where the key is named.
        case "memory":
        case "memory-reservation":
        case "shm-size":
            return SIZE.test(value) ? undefined : "must be a size such as 512m or 2g";
        case "memory-swap":
            return value === "-1" || SIZE.test(value) ? undefined : "must be a size such as 2g, or -1";
        case "cpus":
            return /^[0-9]+(\.[0-9]+)?$/.test(value) ? undefined : "must be a number of CPUs such as 1.5";
        case "cpu-shares":
        case "pids-limit":
            return /^-?[0-9]+$/.test(value) ? undefined : "must be an integer";
        case "add-host": {
            const m = /^([A-Za-z0-9._-]+)[:=](.+)$/.exec(value);
            return m && (isIP(m[2]) || m[2] === "host-gateway") ? undefined : "must be HOST:IP";
        }
        case "label":
            return /^[^=\s]+(=|$)/.test(value) ? undefined : "must be NAME or NAME=VALUE";
        case "dns":
            return isIP(value) ? undefined : "must be an IP address";
        case "dns-search":
            return /^[A-Za-z0-9.-]+$/.test(value) ? undefined : "must be a domain name";
        default:
            return undefined;
    }
}

/**
 * Reads `docker run` arguments as docker does and refuses every option outside `ACCEPTED_DOCKER_RUN_OPTIONS`,
 * bad values of accepted ones, and words docker would read as the image or command (GitHub Flows and the checks
 * append their own). Returns the refusals and the host paths the mounts bind, for the path rules to judge.
 */
export function readDockerArgs(args: readonly string[]): { problems: string[]; mounts: HostMount[]; options: DockerOption[] } {
    const problems: string[] = [];
    const mounts: HostMount[] = [];
    args.forEach((a, i) => {
        if (/[\u0000-\u001f\u007f]/.test(a)) problems.push(`argument ${i} contains a control character (line break, tab, ...)`);
    });
    if (problems.length) return { problems, mounts, options: [] };
    const parsed = parseRunArgs(args);
    for (const o of parsed.options) {
        if (!Object.hasOwn(ACCEPTED_DOCKER_RUN_OPTIONS, o.name)) {
            const why = REFUSED_BECAUSE[o.name] ?? "it is not among the docker run options accepted here (README, Security)";
            problems.push(`'${o.flag}' is refused: ${why}`);
        } else if (o.name === "mount" || o.name === "volume") {
            try {
                const m = o.name === "mount" ? mountOf(o.value) : volumeOf(o.value);
                if (m) mounts.push(m);
            } catch (e) {
                problems.push(`${o.flag} '${o.value}': ${(e as Error).message}`);
            }
        } else {
            // Values are not repeated: an -e or --label value may be a secret.
            const why = optionProblem(o.name, o.value);
            if (why) problems.push(`${o.flag} (argument ${o.index}): ${why}`);
        }
    }
    const networks = parsed.options.filter((o) => o.name === "network" || o.name === "net");
    if (networks.length > 1) problems.push(`${networks[1].flag} (argument ${networks[1].index}): give one --network (docker refuses most combinations)`);
    if (parsed.error) problems.push(`${parsed.error}; docker would refuse these arguments`);
    for (const w of parsed.operands) {
        const role = w.word === "--" ? "ends docker's options" : "is not an option: docker would read it as the image or its command";
        problems.push(`argument ${w.index} '${w.word}' ${role}`);
    }
    return { problems, mounts, options: parsed.options };
}

/** A parse that fails the way the docker CLI's does, said as such. */
function asDockerWould<T>(parse: () => T): T {
    try {
        return parse();
    } catch (e) {
        throw new Error(`docker would refuse it: ${(e as Error).message}`);
    }
}

/** The host path a `--mount` value binds, if any; throws why it is refused. */
function mountOf(value: string): HostMount | undefined {
    const m: MountSpec = asDockerWould(() => parseMountValue(value));
    const accepted: Record<string, string[]> = {
        bind: ["type", "source", "src", "target", "dst", "destination", "readonly", "ro"],
        volume: ["type", "source", "src", "target", "dst", "destination", "readonly", "ro", "volume-nocopy", "volume-subpath", "volume-label", "volume-driver", "volume-opt"],
        tmpfs: ["type", "target", "dst", "destination", "readonly", "ro", "tmpfs-size", "tmpfs-mode"],
    };
    if (!accepted[m.type]) throw new Error(`type '${m.type}' is not accepted (bind, volume, tmpfs)`);
    const extra = m.keys.filter((k) => !accepted[m.type].includes(k));
    if (extra.length) throw new Error(`'${extra[0]}' is not accepted with type=${m.type}`);
    const mount = (source: string): HostMount => ({ source, target: m.target, readonly: m.readonly, spec: value });
    if (m.type === "bind") {
        if (!m.source.startsWith("/")) throw new Error("a relative source resolves against docker's working directory; use an absolute path");
        return mount(m.source);
    }
    if (m.type === "tmpfs") return undefined;
    if (m.volumeDriver !== undefined && m.volumeDriver !== "local") throw new Error(`volume-driver '${m.volumeDriver}': ${REFUSED_BECAUSE["volume-driver"]}`);
    if (m.source !== "" && !VOLUME_NAME.test(m.source)) throw new Error(`'${m.source}' is not a volume name`);
    // The local driver mounts `device` with `o` as root when the volume is first used: o=bind,device=<path> binds any
    // host path, type=ext4,device=/dev/... a disk, type=nfs a share. A host path is bound with type=bind instead.
    if (m.keys.includes("volume-opt")) throw new Error("volume-opt is refused: the local driver would mount its device (a host path, a disk, a share) as root; bind an allowed source with type=bind instead");
    return undefined;
}

/** The host path a `-v` value binds, if any; throws why it is refused. */
function volumeOf(value: string): HostMount | undefined {
    const v: VolumeSpec = asDockerWould(() => parseVolumeValue(value));
    const modes = ["ro", "rw", "nocopy", "cached", "delegated", "consistent"];
    const bad = v.mode.find((w) => !modes.includes(w));
    if (bad !== undefined) throw new Error(`mode '${bad}' is not accepted (${modes.join(", ")})`);
    if (v.source === "") return undefined;
    if (v.source.startsWith("/")) return { source: v.source, target: v.target, readonly: v.readonly, spec: value };
    if (/^[.~]/.test(v.source)) throw new Error("a relative source resolves against docker's working directory; use an absolute path");
    if (!VOLUME_NAME.test(v.source)) throw new Error(`'${v.source}' is neither an absolute path nor a volume name`);
    return undefined;
}

