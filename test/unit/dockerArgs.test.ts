import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvRecord, parseGoBool, parseMountValue, parseRunArgs, parseVolumeValue } from "../../lib/dockerArgs";

/** `name=value` pairs of the options, in order. */
const opts = (args: string[]) => parseRunArgs(args).options.map((o) => `${o.name}=${o.value}`);

describe("parseRunArgs: pflag as docker run configures it", () => {
    it.each([
        ["--flag=value", ["--network=host"], ["network=host"]],
        ["--flag value", ["--network", "host"], ["network=host"]],
        ["a value that starts with '-' is consumed", ["--label", "--privileged"], ["label=--privileged"]],
        ["-e consumes '-v'", ["-e", "-v", "--rm"], ["env=-v", "rm=true"]],
        ["--flag= gives an empty value", ["--label="], ["label="]],
        ["shorthand with attached value", ["-v/a:/b"], ["volume=/a:/b"]],
        ["shorthand with =value", ["-v=/a:/b"], ["volume=/a:/b"]],
        ["shorthand with == keeps one '='", ["-v==/a:/b"], ["volume==/a:/b"]],
        ["'-v=' is the value '='", ["-v="], ["volume=="]],
        ["a cluster of booleans then a value flag", ["-itv", "/x:/y"], ["interactive=true", "tty=true", "volume=/x:/y"]],
        ["a value flag inside a cluster eats the rest", ["-vd"], ["volume=d"]],
        ["a boolean then v=", ["-dv=/a:/b"], ["detach=true", "volume=/a:/b"]],
        ["a boolean with =false", ["-d=false"], ["detach=false"]],
        ["--bool=value", ["--rm=false", "--read-only=1"], ["rm=false", "read-only=1"]],
        ["a boolean never takes the next word", ["--privileged", "false"], ["privileged=true"]],
        ["the hidden --net", ["--net", "host"], ["net=host"]],
        ["-h is --hostname", ["-h", "x"], ["hostname=x"]],
    ])("%s", (_name, args, want) => {
        const r = parseRunArgs(args);
        expect(r.error).toBeUndefined();
        expect(opts(args)).toEqual(want);
    });

    it("ends the options at the first non-option: the rest is the image and its command", () => {
        const r = parseRunArgs(["--network", "host", "alpine", "--privileged", "-v", "/:/host"]);
        expect(r.options.map((o) => o.name)).toEqual(["network"]);
        expect(r.operands).toEqual([
            { word: "alpine", index: 2 },
            { word: "--privileged", index: 3 },
            { word: "-v", index: 4 },
            { word: "/:/host", index: 5 },
        ]);
    });

    it("ends the options at '--' and at a lone '-'", () => {
        expect(parseRunArgs(["--rm", "--", "--privileged"]).operands.map((o) => o.word)).toEqual(["--", "--privileged"]);
        expect(parseRunArgs(["-", "--privileged"]).operands.map((o) => o.word)).toEqual(["-", "--privileged"]);
    });

    it.each([
        [["--network"], /--network needs a value/],
        [["-v"], /-v needs a value/],
        [["-itv"], /-v \(in -itv\) needs a value/],
        [["--networ", "host"], /'--networ' is not a docker run option/],
        [["-x"], /'-x' is not a docker run option/],
        [["-ix"], /'-x' \(in -ix\) is not a docker run option/],
        [["---privileged"], /bad flag syntax/],
        [["--=x"], /bad flag syntax/],
        [["--rm=yes"], /invalid boolean value 'yes' for --rm/],
        [["-d="], /'-=' \(in -d=\) is not a docker run option/],
    ])("reports what docker would refuse: %j", (args, want) => {
        expect(parseRunArgs(args).error).toMatch(want);
    });

    it("names the word each option starts at and how it was written", () => {
        expect(parseRunArgs(["--rm", "-itv", "/a:/b", "--label=x"]).options).toEqual([
            { name: "rm", flag: "--rm", value: "true", index: 0 },
            { name: "interactive", flag: "-i (in -itv)", value: "true", index: 1 },
            { name: "tty", flag: "-t (in -itv)", value: "true", index: 1 },
            { name: "volume", flag: "-v (in -itv)", value: "/a:/b", index: 1 },
            { name: "label", flag: "--label", value: "x", index: 3 },
        ]);
    });

    // A model of the options: every way to write each one, rendered to words and read back.
    const value = fc.string({ maxLength: 12 });
    const option = fc.oneof(
        fc.record({ kind: fc.constant("long-valued" as const), name: fc.constantFrom("label", "env", "network", "mount", "volume", "user"), value, eq: fc.boolean() }),
        fc.record({ kind: fc.constant("long-bool" as const), name: fc.constantFrom("rm", "init", "read-only", "privileged"), value: fc.constantFrom("true", "false", "1", "0", "t", "F") , eq: fc.boolean() }),
        fc.record({
            kind: fc.constant("cluster" as const),
            bools: fc.array(fc.constantFrom("i", "t", "d", "q", "P"), { maxLength: 3 }),
            last: fc.option(fc.record({ c: fc.constantFrom("v", "e", "l", "u", "w", "m"), value, how: fc.constantFrom("attached", "eq", "next") }), { nil: undefined }),
        }),
    );
    const LONG: Record<string, string> = { i: "interactive", t: "tty", d: "detach", q: "quiet", P: "publish-all", v: "volume", e: "env", l: "label", u: "user", w: "workdir", m: "memory" };

    it("reads back every option however it is written (property)", () => {
        fc.assert(
            fc.property(fc.array(option, { maxLength: 6 }), (model) => {
                const words: string[] = [];
                const want: string[] = [];
                for (const o of model) {
                    if (o.kind === "long-valued") {
                        words.push(...(o.eq ? [`--${o.name}=${o.value}`] : [`--${o.name}`, o.value]));
                        want.push(`${o.name}=${o.value}`);
                    } else if (o.kind === "long-bool") {
                        words.push(o.eq ? `--${o.name}=${o.value}` : `--${o.name}`);
                        want.push(`${o.name}=${o.eq ? o.value : "true"}`);
                    } else {
                        const last = o.last;
                        if (o.bools.length === 0 && !last) continue;
                        want.push(...o.bools.map((c) => `${LONG[c]}=true`));
                        let word = `-${o.bools.join("")}`;
                        if (last) {
                            // '-vVALUE' reads '=x' as '-v=x'; an empty attached value is no value: write those with a space.
                            const how = last.how === "attached" && (last.value === "" || last.value.startsWith("=")) ? "next" : last.how === "eq" && last.value === "" ? "next" : last.how;
                            word += last.c + (how === "attached" ? last.value : how === "eq" ? `=${last.value}` : "");
                            words.push(word);
                            if (how === "next") words.push(last.value);
                            want.push(`${LONG[last.c]}=${last.value}`);
                        } else words.push(word);
                    }
                }
                const r = parseRunArgs(words);
                expect(r.error).toBeUndefined();
                expect(r.operands).toEqual([]);
                expect(r.options.map((x) => `${x.name}=${x.value}`)).toEqual(want);
            }),
            { numRuns: 500 },
        );
    });
});

describe("csvRecord: Go's encoding/csv, one record", () => {
    it.each([
        ["a,b,c", ["a", "b", "c"]],
        ['"a,b",c', ["a,b", "c"]],
        ['"say ""hi""",x', ['say "hi"', "x"]],
        ['type=bind,"src=/home/user",dst=/x', ["type=bind", "src=/home/user", "dst=/x"]],
        ["a,", ["a", ""]],
        ['""', [""]],
    ])("%s", (text, want) => {
        expect(csvRecord(text)).toEqual(want);
    });

    it.each([
        ['src="/a",b', /bare "/],
        ['"a"b', /extraneous "/],
        ['"abc', /missing closing "/],
        ["a\nb", /line break/],
        ["", /empty/],
    ])("refuses %j as docker does", (text, want) => {
        expect(() => csvRecord(text)).toThrow(want);
    });

    it("reads back any fields it is given in Go's quoting (property)", () => {
        const field = fc.string({ maxLength: 8 }).filter((s) => !/[\r\n]/.test(s));
        fc.assert(
            fc.property(fc.array(field, { minLength: 1, maxLength: 5 }), (fields) => {
                const text = fields.map((f) => (/[",]/.test(f) || f === "" ? `"${f.replace(/"/g, '""')}"` : f)).join(",");
                expect(csvRecord(text)).toEqual(fields);
            }),
        );
    });
});

describe("parseMountValue: docker's --mount", () => {
    it("lets the last of duplicate keys win, whatever its spelling", () => {
        expect(parseMountValue("type=bind,src=/etc,source=/x,dst=/y,target=/z").source).toBe("/x");
        expect(parseMountValue("type=bind,source=/x,src=/etc,dst=/y").source).toBe("/etc");
        expect(parseMountValue("type=bind,src=/x,dst=/y,destination=/w").target).toBe("/w");
        expect(parseMountValue("type=bind,src=/x,dst=/y,ro,readonly=false").readonly).toBe(false);
        expect(parseMountValue("type=bind,src=/x,dst=/y,readonly=0,ro").readonly).toBe(true);
    });

    it.each([
        ["ro", true],
        ["ro=1", true],
        ["ro=t", true],
        ["readonly=TRUE", true],
        ["readonly=True", true],
        ["ro=f", false],
        ["ro=F", false],
        ["readonly=FALSE", false],
        ["readonly=0", false],
    ])("reads %s as Go's ParseBool does", (field, want) => {
        expect(parseMountValue(`type=bind,src=/x,dst=/y,${field}`).readonly).toBe(want);
    });

    it.each(["readonly=yes", "ro=on", "ro=", "readonly=tRUE"])("refuses %s as docker does", (field) => {
        expect(() => parseMountValue(`type=bind,src=/x,dst=/y,${field}`)).toThrow(/invalid value/);
    });

    it("lower-cases keys and the type, not the values", () => {
        expect(parseMountValue("Type=BIND,SRC=/Etc,DST=/y")).toMatchObject({ type: "bind", source: "/Etc", target: "/y" });
    });

    it("defaults to a volume and reads volume options", () => {
        expect(parseMountValue("src=v,dst=/x,volume-opt=o=bind,volume-opt=device=/etc,volume-opt=type=none,volume-subpath=s")).toMatchObject({
            type: "volume",
            source: "v",
            volumeOptions: { o: "bind", device: "/etc", type: "none" },
            volumeSubpath: "s",
        });
    });

    it("reads a CSV-quoted field and refuses a bare quote", () => {
        expect(parseMountValue('type=bind,"src=/home/user",dst=/x').source).toBe("/home/user");
        expect(parseMountValue('type=bind,"src=/a,b",dst=/x').source).toBe("/a,b");
        expect(() => parseMountValue('type=bind,src="/a",dst=/x')).toThrow(/bare "/);
    });

    it.each([["type=bind,src=/x"], ["type=bind,src=/x,dst=/y,oops"]])("refuses %s", (v) => {
        expect(() => parseMountValue(v)).toThrow();
    });
});

describe("parseVolumeValue: the daemon's -v split", () => {
    it.each([
        ["/a:/b", { source: "/a", target: "/b", mode: [], readonly: false }],
        ["/a:/b:ro", { source: "/a", target: "/b", mode: ["ro"], readonly: true }],
        ["/a:/b:rw,nocopy", { source: "/a", target: "/b", mode: ["rw", "nocopy"], readonly: false }],
        ["name:/b", { source: "name", target: "/b", mode: [], readonly: false }],
        ["/b", { source: "", target: "/b", mode: [], readonly: false }],
    ])("%s", (v, want) => {
        expect(parseVolumeValue(v)).toEqual(want);
    });

    it.each([":/b", "/a:/b:ro:x"])("refuses %s", (v) => {
        expect(() => parseVolumeValue(v)).toThrow();
    });
});

describe("parseGoBool", () => {
    it("accepts exactly Go's spellings", () => {
        const yes = ["1", "t", "T", "TRUE", "true", "True"];
        const no = ["0", "f", "F", "FALSE", "false", "False"];
        for (const s of yes) expect(parseGoBool(s)).toBe(true);
        for (const s of no) expect(parseGoBool(s)).toBe(false);
        for (const s of ["", "yes", "on", "tRue", " true", "2"]) expect(parseGoBool(s)).toBeUndefined();
    });
});
