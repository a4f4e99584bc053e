// node bench/lib/stats.mjs RESULTS_TSV NOTES_TSV OUT_PREFIX: prints the table and the targets of issue 11,
// writes OUT_PREFIX.md, .json and .dat (the chart's data, drawn by bench/lib/chart.gp).
// Rows: target hosts scenario tool rep seconds conns conns-max-per-host sessions docker-ssh-runs settings summary
// cpu-busy tool-cpu repositories. Also writes OUT_PREFIX-repositories.dat (seconds against repositories) when a
// target was measured at more than one repository count.
import fs from "node:fs";

const [tsv, notesTsv, out] = process.argv.slice(2);
const rows = fs.readFileSync(tsv, "utf8").trim().split("\n").filter(Boolean).map((l) => {
    const [target, hosts, scenario, tool, rep, seconds, conns, connsMaxHost, sessions, dockerSsh, settings, summary, cpuBusy, toolCpu, repositories] = l.split("\t");
    return { target, hosts: +hosts, repositories: +(repositories || 1), scenario, tool, rep: +rep, seconds: +seconds, conns: +conns, connsMaxHost: +connsMaxHost, sessions: +sessions, dockerSsh: +dockerSsh, settings, summary, cpuBusy: +(cpuBusy ?? NaN), toolCpu: +(toolCpu ?? NaN) };
});
const notes = fs.existsSync(notesTsv) ? fs.readFileSync(notesTsv, "utf8").trim().split("\n").filter(Boolean).map((l) => l.split("\t")) : [];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const stat = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });
const order = ["fresh", "noop", "rotation", "drift"];
const targets = ["sandbox", "fleet"].filter((t) => rows.some((r) => r.target === t));
const groups = [];
for (const target of targets) {
    const at = (r, hosts, repositories) => r.target === target && r.hosts === hosts && r.repositories === repositories;
    for (const hosts of [...new Set(rows.filter((r) => r.target === target).map((r) => r.hosts))].sort((a, b) => a - b)) {
      for (const repositories of [...new Set(rows.filter((r) => r.target === target && r.hosts === hosts).map((r) => r.repositories))].sort((a, b) => a - b)) {
        for (const scenario of order.filter((s) => rows.some((r) => at(r, hosts, repositories) && r.scenario === s))) {
            const g = { target, hosts, repositories, scenario };
            for (const tool of ["pulumi", "ansible"]) {
                const rs = rows.filter((r) => at(r, hosts, repositories) && r.scenario === scenario && r.tool === tool);
                g[tool] = {
                    seconds: stat(rs.map((r) => r.seconds)),
                    sshConnections: stat(rs.map((r) => r.conns)),
                    sshConnectionsPerHost: stat(rs.map((r) => r.conns / hosts)),
                    sshConnectionsMaxPerHost: stat(rs.map((r) => r.connsMaxHost)),
                    sshSessions: stat(rs.map((r) => r.sessions)),
                    dockerSsh: stat(rs.map((r) => r.dockerSsh)),
                    cpuBusy: stat(rs.map((r) => r.cpuBusy)),
                    toolCpu: stat(rs.map((r) => r.toolCpu)),
                    settings: [...new Set(rs.map((r) => r.settings))].join(" | "),
                    summary: rs.map((r) => r.summary),
                };
            }
            g.ratio = g.pulumi.seconds.median / g.ansible.seconds.median;
            groups.push(g);
        }
      }
    }
}
// Growth from 1 to N hosts: median at N / median at 1 host of the same target (the fleet's own 1-host
// run when there is one: same namespaces, same cached layers), else of the sandbox host.
const oneHost = (g) =>
    groups.find((x) => x.hosts === 1 && x.target === g.target && x.scenario === g.scenario && x.repositories === g.repositories) ??
    groups.find((x) => x.hosts === 1 && x.scenario === g.scenario && x.repositories === g.repositories);
for (const g of groups) {
    const one = oneHost(g);
    if (one && g.hosts > 1) g.scaling = { from: `${one.target} 1`, pulumi: g.pulumi.seconds.median / one.pulumi.seconds.median, ansible: g.ansible.seconds.median / one.ansible.seconds.median };
}
// Growth with repositories: median at N repositories / median at the fewest measured (same target, hosts,
// scenario), and the seconds each further repository adds.
const fewest = (g) => groups.filter((x) => x.target === g.target && x.hosts === g.hosts && x.scenario === g.scenario).sort((a, b) => a.repositories - b.repositories)[0];
for (const g of groups) {
    const base = fewest(g);
    if (base && g.repositories > base.repositories) {
        const extra = g.repositories - base.repositories;
        g.repositoryScaling = {
            from: base.repositories,
            pulumi: g.pulumi.seconds.median / base.pulumi.seconds.median,
            ansible: g.ansible.seconds.median / base.ansible.seconds.median,
            pulumiPerRepository: (g.pulumi.seconds.median - base.pulumi.seconds.median) / extra,
            ansiblePerRepository: (g.ansible.seconds.median - base.ansible.seconds.median) / extra,
        };
    }
}

// The targets of issue 11 (at the fewest repositories measured). One host: the sandbox host if measured, else the
// fleet's 1-host run.
const minRepos = Math.min(...groups.map((g) => g.repositories));
const base = groups.filter((g) => g.repositories === minRepos);
const ratioTargets = { noop: 0.5, rotation: 0.6, drift: 0.6, fresh: 0.8 };
const scalingTargets = { noop: 1.3, rotation: 1.8, drift: 1.8 };
const verdicts = [];
const verdict = (goal, what, target, met) => verdicts.push({ goal, what, target, met });
for (const [scenario, max] of Object.entries(ratioTargets)) {
    const g = base.find((x) => x.hosts === 1 && x.target === targets[0] && x.scenario === scenario);
    if (g) verdict("issue 11", `1 host (${g.target}), ${scenario}: program/Ansible ${g.ratio.toFixed(2)}`, `<= ${max}`, g.ratio <= max);
}
const largest = Math.max(0, ...base.filter((g) => g.scaling).map((g) => g.hosts));
for (const [scenario, max] of Object.entries(scalingTargets)) {
    const g = base.find((x) => x.hosts === largest && x.scenario === scenario && x.scaling);
    if (g) verdict("issue 11", `${g.hosts} hosts (${g.target}), ${scenario}: program ${g.hosts}-host / 1-host (${g.scaling.from}) ${g.scaling.pulumi.toFixed(2)}x`, `<= ${max}x`, g.scaling.pulumi <= max);
}
// The goals of issue 20: repositories at one host against the 1-repository run of the same run; 10 hosts against Ansible.
for (const g of groups.filter((x) => x.hosts === 1 && x.repositoryScaling && x.repositoryScaling.from === 1)) {
    const rs = g.repositoryScaling;
    const noopMax = { 100: 1.5, 300: 2 }[g.repositories];
    if (g.scenario === "noop" && noopMax)
        verdict("issue 20", `1 host (${g.target}), no-op at ${g.repositories} repositories / at 1: ${rs.pulumi.toFixed(2)}x`, `<= ${noopMax}x`, rs.pulumi <= noopMax);
    if (g.scenario === "fresh")
        verdict("issue 20", `1 host (${g.target}), fresh: ${rs.pulumiPerRepository.toFixed(3)} s per repository beyond the 1-repository run (at ${g.repositories})`, "<= 0.1 s", rs.pulumiPerRepository <= 0.1);
}
for (const [scenario, max] of Object.entries({ fresh: 0.8, rotation: 0.6, drift: 0.6 })) {
    const g = base.find((x) => x.hosts === 10 && x.scenario === scenario);
    if (g) verdict("issue 20", `10 hosts (${g.target}), ${scenario}: program/Ansible ${g.ratio.toFixed(2)}`, `<= ${max}`, g.ratio <= max);
}

const f = (x) => x.toFixed(1);
const cell = (s) => `${f(s.median)} s (${f(s.min)}–${f(s.max)})`;
const perHost = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const cpu = (t) => (Number.isFinite(t.cpuBusy.median) ? `${Math.round(t.cpuBusy.median * 100)}% ${f(t.toolCpu.median)} s` : "–");
const head = "| target | hosts | repositories | scenario | program median (min–max) | Ansible median (min–max) | program/Ansible | Ansible settings | SSH conns per host: program (docker ssh) / Ansible | SSH sessions program / Ansible | 1→N hosts program / Ansible | 1→N repositories program / Ansible (s per repository) | CPU busy, tool CPU: program / Ansible |";
const lines = [head, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"];
const repoCell = (rs) => (rs ? `${rs.pulumi.toFixed(2)}x / ${rs.ansible.toFixed(2)}x (${rs.pulumiPerRepository.toFixed(3)} / ${rs.ansiblePerRepository.toFixed(3)})` : "–");
for (const g of groups) {
    const p = g.pulumi, a = g.ansible;
    lines.push(
        `| ${g.target} | ${g.hosts} | ${g.repositories} | ${g.scenario} | ${cell(p.seconds)} | ${cell(a.seconds)} | ${g.ratio.toFixed(2)} | ${a.settings} | ` +
            `${perHost(p.sshConnectionsPerHost.median)} (${perHost(p.dockerSsh.median / g.hosts)}) / ${perHost(a.sshConnectionsPerHost.median)} | ` +
            `${p.sshSessions.median} / ${a.sshSessions.median} | ${g.scaling ? `${g.scaling.pulumi.toFixed(2)}x / ${g.scaling.ansible.toFixed(2)}x` : "–"} | ${repoCell(g.repositoryScaling)} | ${cpu(p)} / ${cpu(a)} |`,
    );
}
const verdictLines = verdicts.map((v) => `- ${v.met ? "met" : "MISSED"} (${v.goal}): ${v.what} (target ${v.target})`);
const what = groups.map((g) => `- ${g.target} ${g.hosts} host(s), ${g.repositories} repositories, ${g.scenario}: program ${[...new Set(g.pulumi.summary)].join(" | ")}; Ansible ${[...new Set(g.ansible.summary)].join(" | ")}`);
const env = process.env.BENCH_ENV ?? "";
const md = [
    "# github-flows-host benchmark: Pulumi program vs Ansible playbook",
    "",
    `${new Date().toISOString()} — ${env}`,
    "",
    ...lines,
    "",
    "Targets:",
    ...verdictLines,
    "",
    "Targets: sandbox = the sandbox host (loopback sshd, the machine's dockerd; fresh includes the 480 MB image pull); fleet = bench/fleet.sh namespaced hosts (own sshd and dockerd each; image layers cached, so fresh pulls only the manifest and tags).",
    "SSH conns per host = \"Accepted publickey\" lines sshd logged during the run (connections) / hosts; (docker ssh) = the docker provider's `ssh` runs per host (bench/lib/trace/ssh), one connection each; SSH sessions = \"Starting session\" lines (exec/sftp channels), all hosts.",
    "CPU busy = how busy the machine's CPUs were during the run (/proc/stat, all processes: the hosts' sshd, dockerd and containers, and anything else running); tool CPU = CPU seconds of the tool's own processes (engine, language host, providers, plugins; Ansible's workers).",
    "",
    "What each run did (program: engine summary; Ansible: PLAY RECAP totals):",
    ...what,
    ...(notes.length ? ["", "Consistency checks:", ...notes.map((n) => `- ${n[0]}: ${n[1]}: ${n[2]}`)] : []),
    "",
].join("\n");
fs.writeFileSync(`${out}.md`, md);
fs.writeFileSync(`${out}.json`, JSON.stringify({ date: new Date().toISOString(), env, groups, verdicts, rows }, null, 2) + "\n");
// Chart data for bench/lib/chart.gp: one block (gnuplot `index`) per measured scenario and target, in the
// order of `scenarios` x `targets`, rows by x (hosts, or repositories). In the hosts chart the sandbox host is
// drawn beside the fleet's 1-host point (x - 0.15).
const ansibleSettings = [...new Set(groups.map((g) => g.ansible.settings))].join(" | ");
function chartData(gs, axis) {
    const runsPerPoint = Math.min(...gs.map((g) => Math.min(g.pulumi.seconds.runs.length, g.ansible.seconds.runs.length)));
    const scenarios = order.filter((s) => gs.some((g) => g.scenario === s));
    const ts = targets.filter((t) => gs.some((g) => g.target === t));
    const xOf = (g) => (axis === "repositories" ? g.repositories : g.target === "sandbox" && ts.includes("fleet") ? g.hosts - 0.15 : g.hosts);
    const dat = [
        `# program path ${process.env.BENCH_PATH || "defaults"}; Ansible ${ansibleSettings}; medians of ${runsPerPoint} runs`,
        `# targets: ${ts.join(" ")}`,
        `# maxx: ${Math.max(...gs.map((g) => g[axis]))}`,
        `# scenarios: ${scenarios.join(" ")}`,
        `# xlabel: ${axis === "repositories" ? `repositories (${[...new Set(gs.map((g) => g.hosts))].join(", ")} host)` : `hosts (${minRepos} repositor${minRepos === 1 ? "y" : "ies"} each)`}`,
        `# x ${axis} program_median program_min program_max ansible_median ansible_min ansible_max`,
    ];
    for (const scenario of scenarios) {
        for (const target of ts) {
            dat.push(`# ${scenario} ${target}`);
            for (const g of gs.filter((x) => x.scenario === scenario && x.target === target)) {
                const p = g.pulumi.seconds, a = g.ansible.seconds;
                dat.push([xOf(g), g[axis], p.median, p.min, p.max, a.median, a.min, a.max].join(" "));
            }
            dat.push("", "");
        }
    }
    return dat.join("\n") + "\n";
}
fs.writeFileSync(`${out}.dat`, chartData(base, "hosts"));
// Seconds against repositories: each target measured at several counts, at its fewest hosts.
const countsOf = (t) => new Set(groups.filter((x) => x.target === t).map((x) => x.repositories)).size;
const byRepos = groups.filter((g) => countsOf(g.target) > 1 && g.hosts === Math.min(...groups.filter((x) => x.target === g.target).map((x) => x.hosts)));
if (new Set(byRepos.map((g) => g.repositories)).size > 1) fs.writeFileSync(`${out}-repositories.dat`, chartData(byRepos, "repositories"));
process.stdout.write(`\n${lines.join("\n")}\n\nTargets:\n${verdictLines.join("\n")}\n\n`);
