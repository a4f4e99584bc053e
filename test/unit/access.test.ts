import { describe, expect, it } from "vitest";
import { expiryToIso, expiryWarning, PERMISSIONS } from "../../lib/access";
import { HIGHEST_ROLE_JQ } from "../../lib/checks";

const WHERE = "host 'web-1' (203.0.113.10:22)";
const NOW = new Date("2026-06-01T12:00:00Z");
const DAY = 86_400_000;
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const warning = (expiresAt: string, days = 14) => expiryWarning({ where: WHERE, expiresAt, now: NOW, days });

describe("expiryToIso: github-authentication-token-expiration to ISO 8601 UTC", () => {
    it.each([
        ["2026-05-01 10:00:00 UTC", "2026-05-01T10:00:00Z"],
        ["2027-03-31 00:00:00 +0900", "2027-03-30T15:00:00Z"],
        ["2026-05-01 10:00:00 -0700", "2026-05-01T17:00:00Z"],
        ["2026-05-01 10:00:00 +05:30", "2026-05-01T04:30:00Z"],
        ["  2026-05-01 10:00:00 UTC  ", "2026-05-01T10:00:00Z"],
        ["2026-05-01T10:00:00Z", "2026-05-01T10:00:00Z"],
        ["2026-05-01T10:00:00.250Z", "2026-05-01T10:00:00Z"],
        ["2026-05-01 10:00:00 GMT", "2026-05-01T10:00:00Z"],
    ])("%j -> %s", (header, iso) => {
        expect(expiryToIso(header)).toBe(iso);
    });

    it.each(["", "never", "next Tuesday", "2026-05-01", "2026-05-01 10:00 UTC", "2026-13-45 10:00:00 UTC", "2026-05-01 10:00:00 CEST", "1714557600"])(
        "cannot read %j",
        (header) => {
            expect(expiryToIso(header)).toBeUndefined();
        },
    );
});

describe("expiryWarning: when preview and up warn", () => {
    it("stays silent for a token that never expires, an unknown expiry, or one far enough away", () => {
        expect(warning("never")).toBeUndefined();
        expect(warning("unknown")).toBeUndefined();
        expect(warning(at(15 * DAY))).toBeUndefined();
        expect(warning(at(14 * DAY + 1000))).toBeUndefined();
    });

    it("warns within tokenExpiryWarningDays, naming the host, the date, and how to rotate", () => {
        const w = warning(at(3 * DAY + 5000));
        expect(w).toBe(
            `${WHERE}: the GitHub token expires on ${at(3 * DAY + 5000)} (in 3 days; tokenExpiryWarningDays is 14). ` +
                "Rotate it: pulumi config set --secret githubToken <new token>, then pulumi up.",
        );
        expect(warning(at(14 * DAY))).toContain("in 14 days");
        expect(warning(at(DAY))).toContain("in 1 day;");
        expect(warning(at(5 * 3_600_000))).toContain("in 5 hours;");
        expect(warning(at(60_000))).toContain("in less than an hour;");
    });

    it("follows the configured number of days; 0 warns only once the token has expired", () => {
        expect(warning(at(30 * DAY), 60)).toContain("tokenExpiryWarningDays is 60");
        expect(warning(at(30 * DAY), 29)).toBeUndefined();
        expect(warning(at(60_000), 0)).toBeUndefined();
        expect(warning(at(-60_000), 0)).toContain("expired on");
    });

    it("says a recorded expiry has passed: the agents fail until the token is replaced", () => {
        const w = warning(at(-DAY));
        expect(w).toContain(`${WHERE}: the GitHub token expired on ${at(-DAY)}`);
        expect(w).toContain("agents on this host fail");
        expect(warning(at(0))).toContain("expired on");
    });

    it("says when the expiry GitHub sent cannot be read", () => {
        expect(warning("next Tuesday")).toBe(`${WHERE}: GitHub sent a token expiry that cannot be read ('next Tuesday'); look the token's expiry up on GitHub.`);
    });
});

describe("roles", () => {
    it("are GitHub's five, weakest first", () => {
        expect(PERMISSIONS).toEqual(["pull", "triage", "push", "maintain", "admin"]);
    });

    it("the checks' jq picks the highest true flag of `permissions`, strongest tested first", () => {
        expect(HIGHEST_ROLE_JQ).toBe(
            '.permissions as $p | if $p == null then "unknown" elif $p.admin then "admin" elif $p.maintain then "maintain" ' +
                'elif $p.push then "push" elif $p.triage then "triage" elif $p.pull then "pull" else "none" end',
        );
    });
});
