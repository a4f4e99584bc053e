/**
 * Secrets on the wire between the engine and the plugin. The SDK's provider server hands the plugin the engine's raw
 * values and accepts secrets, so a secret arrives wrapped (`{ <sig>: <secret sig>, value }`); the host resources work
 * on plain values. The plugin unwraps on the way in and wraps again every top-level output whose input carried a
 * secret anywhere inside, as the engine does for providers that do not accept secrets (its `annotateSecrets`).
 */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

type Props = Record<string, unknown>;

function isSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Props)[SIG_KEY] === SECRET_SIG;
}

function unwrapValue(v: unknown): { value: unknown; secret: boolean } {
    if (isSecret(v)) return { value: unwrapValue(v.value).value, secret: true };
    if (Array.isArray(v)) {
        const items = v.map(unwrapValue);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (typeof v === "object" && v !== null) {
        let secret = false;
        const out: Props = {};
        for (const [k, x] of Object.entries(v)) {
            const u = unwrapValue(x);
            out[k] = u.value;
            secret ||= u.secret;
        }
        return { value: out, secret };
    }
    return { value: v, secret: false };
}

/** Plain values, and the top-level keys that held a secret anywhere inside. */
export function unwrapSecrets(props: Props | undefined): { plain: Props; secretKeys: Set<string> } {
    const plain: Props = {};
    const secretKeys = new Set<string>();
    for (const [k, v] of Object.entries(props ?? {})) {
        const u = unwrapValue(v);
        plain[k] = u.value;
        if (u.secret) secretKeys.add(k);
    }
    return { plain, secretKeys };
}

/** `props` with each key of `secretKeys` wrapped as a secret (undefined values are left out). */
export function wrapSecrets(props: Props | undefined, secretKeys: Set<string>): Props {
    const out: Props = {};
    for (const [k, v] of Object.entries(props ?? {})) {
        if (v === undefined) continue;
        out[k] = secretKeys.has(k) ? { [SIG_KEY]: SECRET_SIG, value: v } : v;
    }
    return out;
}
