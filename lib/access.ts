/** What the token may do, and until when: GitHub's repository roles and the token-expiry warning; its fingerprint. */
import { createHash } from "crypto";

/** GitHub's repository roles, weakest first: each includes the ones before it (REST `permissions` is cumulative). */
export const PERMISSIONS = ["pull", "triage", "push", "maintain", "admin"] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** `tokenExpiresAt` of a token GitHub sends no expiry for (no `github-authentication-token-expiration` header). */
export const NEVER = "never";
/** `tokenExpiresAt` when the recorded checks predate this output (the next `up` that runs them records it). */
export const UNKNOWN = "unknown";

/**
 * `github-authentication-token-expiration` as GitHub sends it (`2026-05-01 10:00:00 UTC`; a numeric zone such
 * as `+0900` has been seen too), or ISO 8601, as ISO 8601 UTC (`2026-05-01T10:00:00Z`); undefined when unreadable.
 */
export function expiryToIso(value: string): string | undefined {
    const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)? ?(UTC|GMT|Z|[+-]\d{2}:?\d{2})$/.exec(value.trim());
    if (!m) return undefined;
    const zone = /^(UTC|GMT|Z)$/.test(m[3]) ? "Z" : m[3].replace(/^([+-]\d{2}):?(\d{2})$/, "$1:$2");
    const t = Date.parse(`${m[1]}T${m[2]}${zone}`);
    return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export interface ExpiryCheck {
    /** Where, for the message: `host 'web-1' (203.0.113.10:22)`. */
    where: string;
    /** `tokenExpiresAt` as recorded: ISO 8601 UTC, `never`, `unknown`, or a header value that could not be read. */
    expiresAt: string;
    now: Date;
    /** `tokenExpiryWarningDays`. */
    days: number;
}

/**
 * The warning `pulumi preview` and `up` print for a host's token, or undefined: due when the token expires
 * within `days` (or has expired, which only a recorded expiry can show: GitHub answers an expired token with 401).
 */
export function expiryWarning(c: ExpiryCheck): string | undefined {
    if (c.expiresAt === NEVER || c.expiresAt === UNKNOWN) return undefined;
    const rotate = "Rotate it: pulumi config set --secret githubToken <new token>, then pulumi up.";
    const t = Date.parse(c.expiresAt);
    if (!ISO_UTC.test(c.expiresAt) || Number.isNaN(t)) {
        return `${c.where}: GitHub sent a token expiry that cannot be read ('${c.expiresAt}'); look the token's expiry up on GitHub.`;
    }
    const left = t - c.now.getTime();
    if (left <= 0) return `${c.where}: the GitHub token expired on ${c.expiresAt}; the agents on this host fail until it is replaced. ${rotate}`;
    if (left > c.days * DAY) return undefined;
    return `${c.where}: the GitHub token expires on ${c.expiresAt} (${inWords(left)}; tokenExpiryWarningDays is ${c.days}). ${rotate}`;
}

function inWords(ms: number): string {
    const plural = (n: number, unit: string) => `in ${n} ${unit}${n === 1 ? "" : "s"}`;
    if (ms >= DAY) return plural(Math.floor(ms / DAY), "day");
    if (ms >= HOUR) return plural(Math.floor(ms / HOUR), "hour");
    return "in less than an hour";
}

/** First 12 hex digits of the token's sha256: tells tokens apart (outputs, state, logs) without revealing one. */
export function tokenFingerprint(token: string): string {
    return createHash("sha256").update(token, "utf8").digest("hex").slice(0, 12);
}
