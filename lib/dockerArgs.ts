/**
 * `docker run` arguments read the way the Docker CLI (28.x) and daemon read them: pflag's option syntax with
 * interspersed options off, `--mount`'s CSV record, `-v`'s colon-separated spec as the daemon splits it. Pure
 * parsing; what is allowed is decided in `security.ts`.
 */

/** Options that take no separate word (`--rm`, `--rm=false`, `-i` in `-itv`). */
const BOOLEAN = new Set(
    "detach disable-content-trust help init interactive no-healthcheck oom-kill-disable privileged publish-all quiet read-only rm sig-proxy tty use-api-socket".split(" "),
);

/** Options that always take a value: the rest of the word, or else the next word even when it starts with '-'. Hidden ones too. */
const VALUED = new Set(
    [
        "add-host annotation attach blkio-weight blkio-weight-device cap-add cap-drop cgroup-parent cgroupns cidfile cpu-count",
        "cpu-percent cpu-period cpu-quota cpu-rt-period cpu-rt-runtime cpu-shares cpus cpuset-cpus cpuset-mems detach-keys device",
        "device-cgroup-rule device-read-bps device-read-iops device-write-bps device-write-iops dns dns-option dns-search",
        "domainname entrypoint env env-file expose gpus group-add health-cmd health-interval health-retries health-start-interval",
        "health-start-period health-timeout hostname io-maxbandwidth io-maxiops ip ip6 ipc isolation kernel-memory label label-file",
        "link link-local-ip log-driver log-opt mac-address memory memory-reservation memory-swap memory-swappiness mount name net",
        "net-alias network network-alias oom-score-adj pid pids-limit platform publish pull restart runtime security-opt shm-size",
        "stop-signal stop-timeout storage-opt sysctl tmpfs ulimit user userns uts volume volume-driver volumes-from workdir",
    ]
        .join(" ")
        .split(" "),
);

/** `docker run` shorthands (`-h` is --hostname there, not help). */
const SHORT: Readonly<Record<string, string>> = {
    a: "attach", c: "cpu-shares", d: "detach", e: "env", h: "hostname", i: "interactive", l: "label", m: "memory",
    p: "publish", P: "publish-all", q: "quiet", t: "tty", u: "user", v: "volume", w: "workdir",
};

/** One option as docker reads it. */
export interface DockerOption {
    /** Long name without dashes: `volume` for `-v`, `net` stays `net`. */
    name: string;
    /** As written, for messages: `--volume`, `-v`, `-v (in -itv)`. */
    flag: string;
    value: string;
    /** Index of the word the option starts at. */
    index: number;
}

export interface ParsedRunArgs {
    options: DockerOption[];
    /** The first non-option and every word after it (docker reads them as the image and its command); or `--` and after. */
    operands: Array<{ word: string; index: number }>;
    /** Why docker would refuse the words (unknown option, missing value, bad boolean); parsing stops at the first. */
    error?: string;
}

/** Go's strconv.ParseBool, which pflag uses for boolean options and docker for `readonly=`. */
export function parseGoBool(s: string): boolean | undefined {
    if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
    if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
    return undefined;
}

/**
 * pflag's parse loop as `docker run` configures it (SetInterspersed(false)): `--name=value`, `--name value`,
 * `-abc` clusters where the first shorthand that takes a value eats the rest of the word (`-vSPEC`, `-v=SPEC`)
 * or the next word, `--` and the first non-option ending the options.
 */
export function parseRunArgs(args: readonly string[]): ParsedRunArgs {
    const options: DockerOption[] = [];
    const result = (error?: string, from = args.length): ParsedRunArgs => ({
        options,
        operands: args.slice(from).map((word, k) => ({ word, index: from + k })),
        error,
    });
    for (let i = 0; i < args.length; i++) {
        const word = args[i];
        const start = i;
        if (word.length < 2 || word[0] !== "-" || word === "--") return result(undefined, i);
        const take = (flag: string, name: string, attached: string | undefined): string | Error => {
            if (attached !== undefined) {
                if (BOOLEAN.has(name) && parseGoBool(attached) === undefined) return new Error(`invalid boolean value '${attached}' for ${flag}`);
                return attached;
            }
            if (BOOLEAN.has(name)) return "true";
            if (i + 1 < args.length) return args[++i];
            return new Error(`${flag} needs a value`);
        };
        if (word[1] === "-") {
            const body = word.slice(2);
            if (body[0] === "-" || body[0] === "=") return result(`bad flag syntax: ${word}`, args.length);
            const eq = body.indexOf("=");
            const name = eq < 0 ? body : body.slice(0, eq);
            if (!BOOLEAN.has(name) && !VALUED.has(name)) return result(`'--${name}' is not a docker run option`, args.length);
            const value = take(`--${name}`, name, eq < 0 ? undefined : body.slice(eq + 1));
            if (value instanceof Error) return result(value.message, args.length);
            options.push({ name, flag: `--${name}`, value, index: start });
            continue;
        }
        let shorts = word.slice(1);
        while (shorts.length > 0) {
            const c = shorts[0];
            const name = SHORT[c];
            const flag = word.length > 2 ? `-${c} (in ${word})` : `-${c}`;
            if (!name) return result(`'-${c}'${word.length > 2 ? ` (in ${word})` : ""} is not a docker run option`, args.length);
            let attached: string | undefined;
            if (shorts.length > 2 && shorts[1] === "=") attached = shorts.slice(2);
            else if (!BOOLEAN.has(name) && shorts.length > 1) attached = shorts.slice(1);
            const value = take(flag, name, attached);
            if (value instanceof Error) return result(value.message, args.length);
            options.push({ name, flag, value, index: start });
            shorts = attached === undefined ? shorts.slice(1) : "";
        }
    }
    return result();
}

/** One `--mount` value as docker's MountOpt.Set reads it; keys lower-cased, the last of duplicate keys wins. */
export interface MountSpec {
    type: string;
    source: string;
    target: string;
    readonly: boolean;
    /** Every key given, lower-cased (`src` and `source` both appear as given). */
    keys: string[];
    volumeDriver?: string;
    volumeSubpath?: string;
    /** `volume-opt=K=V` pairs: the local driver mounts `device` with options `o` (e.g. `o=bind`). */
    volumeOptions: Record<string, string>;
}

/** Parses a `--mount` value; throws with docker's reason when docker would refuse it. */
export function parseMountValue(value: string): MountSpec {
    const m: MountSpec = { type: "volume", source: "", target: "", readonly: false, keys: [], volumeOptions: {} };
    for (const field of csvRecord(value)) {
        const eq = field.indexOf("=");
        const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
        const val = eq < 0 ? undefined : field.slice(eq + 1);
        m.keys.push(key);
        if (val === undefined) {
            if (key === "readonly" || key === "ro") m.readonly = true;
            else if (key !== "volume-nocopy" && key !== "bind-nonrecursive") throw new Error(`field '${field}' must be a key=value pair`);
            continue;
        }
        if (key === "type") m.type = val.toLowerCase();
        else if (key === "source" || key === "src") m.source = val;
        else if (key === "target" || key === "dst" || key === "destination") m.target = val;
        else if (key === "readonly" || key === "ro") {
            const b = parseGoBool(val);
            if (b === undefined) throw new Error(`invalid value for ${key}: ${val}`);
            m.readonly = b;
        } else if (key === "volume-driver") m.volumeDriver = val;
        else if (key === "volume-subpath") m.volumeSubpath = val;
        else if (key === "volume-opt") {
            const k = val.indexOf("=");
            const optKey = k < 0 ? val : val.slice(0, k);
            if (optKey !== "") m.volumeOptions[optKey] = k < 0 ? "" : val.slice(k + 1);
        }
    }
    if (!m.target) throw new Error("target is required");
    return m;
}

/**
 * One record of Go's encoding/csv (no lazy quotes): `"..."` quotes a whole field, `""` inside is a quote, a quote
 * anywhere else is an error. Line breaks are refused: docker would read the first line only.
 */
export function csvRecord(text: string): string[] {
    if (/[\r\n]/.test(text)) throw new Error("contains a line break");
    if (text === "") throw new Error("is empty");
    const fields: string[] = [];
    let pos = 0;
    for (;;) {
        if (text[pos] !== '"') {
            const end = text.indexOf(",", pos) < 0 ? text.length : text.indexOf(",", pos);
            const field = text.slice(pos, end);
            if (field.includes('"')) throw new Error(`bare " in non-quoted field '${field}'`);
            fields.push(field);
            if (end === text.length) return fields;
            pos = end + 1;
            continue;
        }
        let field = "";
        pos++;
        for (;;) {
            const q = text.indexOf('"', pos);
            if (q < 0) throw new Error('missing closing " in quoted field');
            field += text.slice(pos, q);
            pos = q + 1;
            if (text[pos] === '"') {
                field += '"';
                pos++;
            } else break;
        }
        fields.push(field);
        if (pos === text.length) return fields;
        if (text[pos] !== ",") throw new Error('extraneous " in quoted field');
        pos++;
    }
}

/** One `-v`/`--volume` value as the daemon's Linux parser splits it. */
export interface VolumeSpec {
    /** Empty for an anonymous volume; an absolute path is a bind mount, anything else a volume name. */
    source: string;
    target: string;
    /** Comma-separated mode words (`ro`, `rw`, `z`, `nocopy`, ...). */
    mode: string[];
    readonly: boolean;
}

/** Parses a `-v` value; throws when docker would refuse it. */
export function parseVolumeValue(value: string): VolumeSpec {
    const parts = value.split(":");
    if (parts[0] === "" || parts.length > 3) throw new Error("is not SOURCE:TARGET[:MODE]");
    if (parts.length === 1) return { source: "", target: parts[0], mode: [], readonly: false };
    const mode = parts.length === 3 ? parts[2].split(",") : [];
    return { source: parts[0], target: parts[1], mode, readonly: mode.includes("ro") };
}

/** Names the daemon accepts for a volume. */
export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;
