import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "../..");
const INSTALLER = path.join(REPO, "scripts/install-drift-job.sh");
const UNITS = path.join(REPO, "deploy/systemd");

/** systemd-analyze verify: exit 0 and not one warning (unknown keys and bad values only warn). */
function verify(files: string[]): { status: number | null; output: string } {
    const r = spawnSync("systemd-analyze", ["verify", ...files], { encoding: "utf8" });
    if (r.error) throw new Error(`systemd-analyze is needed (apt-get install systemd): ${r.error.message}`);
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe("drift job: systemd units and installer", () => {
    let tmp: string;
    let bin: string;
    let envFile: string;
    const install = (args: string[], env: Record<string, string> = {}) =>
        spawnSync("bash", [INSTALLER, ...args], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env } });

    beforeAll(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gfh-drift-job-"));
        // A stand-in pulumi and language host beside the real node: the installer records where they are.
        bin = path.join(tmp, "bin");
        fs.mkdirSync(bin);
        for (const f of ["pulumi", "pulumi-language-nodejs"]) fs.writeFileSync(path.join(bin, f), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        fs.symlinkSync(process.execPath, path.join(bin, "node"));
        for (const f of ["pgpass", "passphrase"]) fs.writeFileSync(path.join(tmp, f), "x\n", { mode: 0o600 });
        fs.mkdirSync(path.join(tmp, "pulumi-home/plugins"), { recursive: true });
        envFile = path.join(tmp, "drift.env");
        fs.writeFileSync(
            envFile,
            `PULUMI_BACKEND_URL=postgres://gfh@db.example:5432/gfh_state?sslmode=verify-full\nPGPASSFILE=${tmp}/pgpass\nPULUMI_CONFIG_PASSPHRASE_FILE=${tmp}/passphrase\nPULUMI_HOME=${tmp}/pulumi-home\n`,
            { mode: 0o600 },
        );
    });
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the unit files in deploy/systemd pass systemd-analyze verify without a warning, as template and as an instance", () => {
        const inst = path.join(tmp, "units");
        fs.mkdirSync(inst);
        for (const ext of ["service", "timer"]) fs.copyFileSync(path.join(UNITS, `github-flows-drift@.${ext}`), path.join(inst, `github-flows-drift@prod.${ext}`));
        expect(verify([path.join(UNITS, "github-flows-drift@.service"), path.join(UNITS, "github-flows-drift@.timer")])).toEqual({ status: 0, output: "" });
        expect(verify([path.join(inst, "github-flows-drift@prod.service"), path.join(inst, "github-flows-drift@prod.timer")])).toEqual({ status: 0, output: "" });
        // The check can fail: a misspelt key is reported.
        fs.writeFileSync(path.join(inst, "bad@prod.service"), fs.readFileSync(path.join(UNITS, "github-flows-drift@.service"), "utf8").replace("UMask=", "UMasc="));
        expect(verify([path.join(inst, "bad@prod.service")]).output).toContain("Unknown key 'UMasc'");
    });

    it("the service runs drift-check.sh of the project dir for the instance's stack, from the instance's 0600 env file; the timer is hourly", () => {
        const svc = fs.readFileSync(path.join(UNITS, "github-flows-drift@.service"), "utf8");
        expect(svc).toMatch(/^Type=oneshot$/m);
        expect(svc).toMatch(/^EnvironmentFile=\/etc\/github-flows-host\/drift\/%i\.env$/m);
        expect(svc).toMatch(/^ExecStart=\/bin\/bash \$\{GFH_PROJECT_DIR\}\/scripts\/drift-check\.sh --stack %i$/m);
        const timer = fs.readFileSync(path.join(UNITS, "github-flows-drift@.timer"), "utf8");
        expect(timer).toMatch(/^OnCalendar=hourly$/m);
        expect(timer).toMatch(/^WantedBy=timers\.target$/m);
    });

    it("installs into a root dir: units 0644, env dir 0700, env file 0600 with the operator's lines, the project dir and PATH", () => {
        const root = path.join(tmp, "root");
        const r = install(["--stack", "prod", "--env-file", envFile, "--root", root]);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain("systemctl daemon-reload && systemctl enable --now github-flows-drift@prod.timer");
        const mode = (p: string) => (fs.statSync(path.join(root, p)).mode & 0o777).toString(8);
        for (const ext of ["service", "timer"]) {
            const p = `etc/systemd/system/github-flows-drift@.${ext}`;
            expect(mode(p)).toBe("644");
            expect(fs.readFileSync(path.join(root, p), "utf8")).toBe(fs.readFileSync(path.join(UNITS, `github-flows-drift@.${ext}`), "utf8"));
        }
        expect(mode("etc/github-flows-host/drift")).toBe("700");
        expect(mode("etc/github-flows-host/drift/prod.env")).toBe("600");
        const env = fs.readFileSync(path.join(root, "etc/github-flows-host/drift/prod.env"), "utf8");
        expect(env).toContain(fs.readFileSync(envFile, "utf8"));
        expect(env).toMatch(new RegExp(`^GFH_PROJECT_DIR=${REPO}$`, "m"));
        expect(env).toMatch(new RegExp(`^PATH=${bin}:/usr/local/sbin:`, "m"));
        expect(fs.readdirSync(path.join(root, "etc/github-flows-host/drift"))).toEqual(["prod.env"]);
        // Installed units verify too, and a second install (another stack) shares them.
        expect(verify([path.join(root, "etc/systemd/system/github-flows-drift@.service")])).toEqual({ status: 0, output: "" });
        expect(install(["--stack", "staging", "--env-file", envFile, "--root", root]).status).toBe(0);
        expect(fs.readdirSync(path.join(root, "etc/github-flows-host/drift")).sort()).toEqual(["prod.env", "staging.env"]);
    });

    it("GFH_INSTALL_ROOT works like --root", () => {
        const root = path.join(tmp, "root-env");
        expect(install(["--stack", "prod", "--env-file", envFile], { GFH_INSTALL_ROOT: root }).status).toBe(0);
        expect(fs.existsSync(path.join(root, "etc/github-flows-host/drift/prod.env"))).toBe(true);
    });

    const refusals: Array<{ what: string; envText?: string; envMode?: number; args?: string[]; message: RegExp }> = [
        { what: "an env file readable by others", envMode: 0o644, message: /mode 644; run 'chmod 600 / },
        { what: "a password in the backend URL", envText: "PULUMI_BACKEND_URL=postgres://gfh:hunter2@db:5432/s\n", message: /holds a password \(user:password@\); put it in a libpq password file/ },
        { what: "no backend URL", envText: "PGPASSFILE=/x\n", message: /sets no PULUMI_BACKEND_URL/ },
        { what: "a stack name that is not a plain name", args: ["--stack", "../etc"], message: /--stack: a stack name/ },
        { what: "a missing stack", args: ["--stack", ""], message: /--stack/ },
        { what: "a project dir that is not a checkout", args: ["--project", os.tmpdir()], message: /is not a github-flows-host checkout/ },
    ];
    for (const c of refusals) {
        it(`refuses ${c.what}, writing nothing`, () => {
            const root = path.join(tmp, `refused-${Math.random().toString(16).slice(2)}`);
            const f = path.join(tmp, `env-${Math.random().toString(16).slice(2)}`);
            fs.writeFileSync(f, c.envText ?? fs.readFileSync(envFile, "utf8"), { mode: c.envMode ?? 0o600 });
            fs.chmodSync(f, c.envMode ?? 0o600);
            const args = ["--stack", "prod", "--env-file", f, "--root", root];
            for (let i = 0; i < (c.args ?? []).length; i += 2) {
                const at = args.indexOf(c.args![i]);
                if (at >= 0) args[at + 1] = c.args![i + 1];
                else args.push(c.args![i], c.args![i + 1]);
            }
            const r = install(args);
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(c.message);
            expect(r.stderr).not.toContain("hunter2");
            expect(fs.existsSync(root)).toBe(false);
        });
    }

    it("drift-check.sh without a stack or project exits 2 (never 0 or 1)", () => {
        const noStack = spawnSync("bash", [path.join(REPO, "scripts/drift-check.sh")], { encoding: "utf8", env: { ...process.env, GFH_STACK: "" } });
        expect(noStack.status).toBe(2);
        const noProject = spawnSync("bash", [path.join(REPO, "scripts/drift-check.sh"), "--stack", "s", "--cwd", tmp], { encoding: "utf8" });
        expect(noProject.status).toBe(2);
        expect(noProject.stderr).toContain("no Pulumi.yaml");
    });

    it("drift-check.sh with a pulumi that prints no report exits 2, and passes pulumi's error on", () => {
        const fake = path.join(tmp, "fakebin");
        fs.mkdirSync(fake, { recursive: true });
        fs.writeFileSync(path.join(fake, "pulumi"), "#!/bin/sh\necho 'error: failed to ping PostgreSQL' >&2\nexit 255\n", { mode: 0o755 });
        const r = spawnSync("bash", [path.join(REPO, "scripts/drift-check.sh"), "--stack", "s", "--cwd", REPO], { encoding: "utf8", env: { ...process.env, PATH: `${fake}:${process.env.PATH}` } });
        expect(r.status).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("failed to ping PostgreSQL");
    });

    it("drift-check.sh maps the report to its exit status: clean 0, drift 1 (pulumi's own drift error not repeated)", () => {
        const fake = path.join(tmp, "fakebin2");
        fs.mkdirSync(fake, { recursive: true });
        const urn = "urn:pulumi:s::github-flows-host::github-flows-host:index:FlowsHost$github-flows-host:index:RemoteFile::h-gh-token";
        const preview = (steps: unknown[]) => JSON.stringify({ config: { "github-flows-host:hosts": JSON.stringify([{ name: "h" }]) }, steps });
        const run = (json: string, exit: number) => {
            fs.writeFileSync(path.join(fake, "preview.json"), json);
            fs.writeFileSync(path.join(fake, "pulumi"), `#!/bin/sh\ncat '${path.join(fake, "preview.json")}'\n[ ${exit} = 0 ] || echo 'error: no changes were expected' >&2\nexit ${exit}\n`, { mode: 0o755 });
            return spawnSync("bash", [path.join(REPO, "scripts/drift-check.sh"), "--stack", "s", "--cwd", REPO], { encoding: "utf8", env: { ...process.env, PATH: `${fake}:${process.env.PATH}` } });
        };
        const clean = run(preview([{ op: "same", urn }]), 0);
        expect([clean.status, clean.stdout, clean.stderr]).toEqual([0, "h clean\n", ""]);
        const drift = run(preview([{ op: "update", urn, oldState: { outputs: { mode: "644" } }, newState: { inputs: { mode: "600" } } }]), 255);
        expect([drift.status, drift.stdout, drift.stderr]).toEqual([1, "h drifted: update h-gh-token (mode 644, want 600)\n", ""]);
    });
});
