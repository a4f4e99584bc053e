import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { importStatScript } from "../../lib/shell";
import { importTarget, knownHostKey, parseImportId, resourceIdOf } from "../../lib/ssh";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAQhOB+SjMrCO+wBggiEqh5BWTkKIJTOTxHm46hjHOvi";

describe("pulumi import ids and credentials (lib/ssh/importTarget.ts)", () => {
    it("parses <login>@<address>:<port>:<path> into the program's own id", () => {
        const i = parseImportId("ubuntu@203.0.113.10:22:/home/user/.secrets/gh-token");
        expect(i).toEqual({ user: "ubuntu", host: "203.0.113.10", port: 22, path: "/home/user/.secrets/gh-token" });
        expect(resourceIdOf(i)).toBe("203.0.113.10:22:/home/user/.secrets/gh-token");
        expect(parseImportId("root@[2001:db8::1]:2222:/a:b").host).toBe("2001:db8::1");
    });

    it("refuses an id without the login or with a relative path, saying the form", () => {
        for (const bad of ["203.0.113.10:22:/x", "root@h:22:x", "root@h:/x", "Root;rm@h:22:/x"]) {
            expect(() => parseImportId(bad), bad).toThrow("is not <login>@<address>:<port>:<absolute path>");
        }
    });

    it("takes the host key from known_hosts (hashed entries too), and says how to pin a missing one", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-kh-"));
        const file = path.join(dir, "known_hosts");
        fs.writeFileSync(file, `[127.0.0.1]:2222 ${KEY}\n`);
        execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
        expect(fs.readFileSync(file, "utf8")).not.toContain("127.0.0.1");
        expect(knownHostKey("127.0.0.1", 2222, { GFH_KNOWN_HOSTS: file })).toBe(KEY);
        expect(() => knownHostKey("127.0.0.1", 22, { GFH_KNOWN_HOSTS: file })).toThrow(/no host key for it .*ssh-keyscan -p 22 127\.0\.0\.1/);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("needs an ssh-agent: the key never comes from the id or the state", () => {
        const i = parseImportId("root@h:22:/x");
        expect(() => importTarget(i, {})).toThrow("no ssh-agent (SSH_AUTH_SOCK is unset)");
    });

    it("looks at a path without following a final link (run by sh)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-is-"));
        fs.writeFileSync(path.join(dir, "f"), "x", { mode: 0o600 });
        fs.symlinkSync("/etc/passwd", path.join(dir, "l"));
        const run = (p: string) => execFileSync("sh", ["-c", importStatScript(p)], { encoding: "utf8" }).trim();
        const me = os.userInfo().username;
        expect(run(path.join(dir, "f"))).toBe(`file 600 ${me}`);
        expect(run(dir)).toMatch(new RegExp(`^dir \\d+ ${me}$`));
        expect(run(path.join(dir, "l"))).toBe("link");
        expect(run(path.join(dir, "nope"))).toBe("absent");
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
