import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { repositoryProblem } from "../../lib/repository";

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split("");
/** Owners and names as GitHub accepts them, built from their grammar. */
const owner = fc
    .array(fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 })
    .map((parts) => parts.join("-"))
    .filter((o) => o.length <= 39);
const name = fc.string({ unit: fc.constantFrom(...ALNUM, ".", "_", "-"), minLength: 1, maxLength: 12 }).filter((n) => n !== "." && n !== "..");
const accepted = fc.tuple(owner, name).map(([o, n]) => `${o}/${n}`);
/** Anything made of the characters that matter: hyphens, dots, slashes. */
const anything = fc.string({ unit: fc.constantFrom("a", "B", "1", "-", ".", "_", "/"), maxLength: 12 });

describe("repositoryProblem: GitHub's rules", () => {
    it("accepts every name built from GitHub's grammar (property)", () => {
        fc.assert(
            fc.property(accepted, (r) => {
                expect(repositoryProblem(r)).toBeUndefined();
            }),
        );
    });

    it("never accepts a name that could reach gh as an option, or that is not owner/name (property)", () => {
        fc.assert(
            fc.property(anything, (r) => {
                if (repositoryProblem(r) !== undefined) return;
                const [o, n] = r.split("/");
                expect(r.startsWith("-")).toBe(false);
                expect(r.split("/")).toHaveLength(2);
                expect(o).not.toMatch(/--|^-|-$/);
                expect([".", ".."]).not.toContain(n);
            }),
            { numRuns: 2000 },
        );
    });

    it.each([
        ["a--b/c", /owner/],
        ["-a/c", /owner/],
        ["a-/c", /owner/],
        [`${"a".repeat(40)}/c`, /owner/],
        ["a/..", /name/],
        ["a/.", /name/],
        [`a/${"n".repeat(101)}`, /name/],
        ["a/b/c", /owner\/name/],
        ["ab", /owner\/name/],
    ])("refuses %s", (r, want) => {
        expect(repositoryProblem(r)).toMatch(want);
    });
});

describe("owners with a double dash", () => {
    it("are refused (GitHub has none; a--b/c and a/b--c once named the same resources)", () => {
        expect(repositoryProblem("a--b/c")).toBeDefined();
    });
});
