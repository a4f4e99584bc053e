// node bench/lib/stats.mjs RESULTS_TSV NOTES_TSV OUT_PREFIX: prints the table, writes OUT_PREFIX.md and .json.
// Rows: hosts scenario tool rep seconds ssh_connections ssh_sessions summary.
import fs from "node:fs";

const [tsv, notesTsv, out] = process.argv.slice(2);
const rows = fs.readFileSync(tsv, "utf8").trim().split("\n").filter(Boolean).map((l) => {
    const [hosts, scenario, tool, rep, seconds, conns, sessions, summary] = l.split("\t");
    return { hosts: +hosts, scenario, tool, rep: +rep, seconds: +seconds, conns: +conns, sessions: +sessions, summary };
});
const notes = fs.existsSync(notesTsv) ? fs.readFileSync(notesTsv, "utf8").trim().split("\n").filter(Boolean).map((l) => l.split("\t")) : [];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const stat = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });
const order = ["fresh", "noop", "rotation", "drift"];
const groups = [];
for (const hosts of [...new Set(rows.map((r) => r.hosts))].sort((a, b) => a - b)) {
    for (const scenario of order.filter((s) => rows.some((r) => r.hosts === hosts && r.scenario === s))) {
        const g = { hosts, scenario };
        for (const tool of ["pulumi", "ansible"]) {
            const rs = rows.filter((r) => r.hosts === hosts && r.scenario === scenario && r.tool === tool);
            g[tool] = { seconds: stat(rs.map((r) => r.seconds)), sshConnections: stat(rs.map((r) => r.conns)), sshSessions: stat(rs.map((r) => r.sessions)), summary: rs.map((r) => r.summary) };
        }
        g.ratio = g.pulumi.seconds.median / g.ansible.seconds.median;
        groups.push(g);
    }
}
// Fleet scaling: median at N hosts / median at 1 host, per tool and scenario.
for (const g of groups) {
    const one = groups.find((x) => x.hosts === 1 && x.scenario === g.scenario);
    if (one && g.hosts > 1) g.scaling = { pulumi: g.pulumi.seconds.median / one.pulumi.seconds.median, ansible: g.ansible.seconds.median / one.ansible.seconds.median };
}
const f = (x) => x.toFixed(1);
const cell = (s) => `${f(s.median)} s (${f(s.min)}–${f(s.max)})`;
const head = "| hosts | scenario | pulumi median (min–max) | ansible median (min–max) | pulumi/ansible | SSH conns pulumi / ansible | SSH sessions pulumi / ansible | 1→N hosts pulumi / ansible |";
const lines = [head, "| --- | --- | --- | --- | --- | --- | --- | --- |"];
for (const g of groups) {
    lines.push(`| ${g.hosts} | ${g.scenario} | ${cell(g.pulumi.seconds)} | ${cell(g.ansible.seconds)} | ${g.ratio.toFixed(2)} | ${g.pulumi.sshConnections.median} / ${g.ansible.sshConnections.median} | ${g.pulumi.sshSessions.median} / ${g.ansible.sshSessions.median} | ${g.scaling ? `${g.scaling.pulumi.toFixed(2)}x / ${g.scaling.ansible.toFixed(2)}x` : "–"} |`);
}
const what = [...new Set(groups.map((g) => `${g.hosts}:${g.scenario}`))].map((k) => {
    const g = groups.find((x) => `${x.hosts}:${x.scenario}` === k);
    return `- ${g.hosts} host(s), ${g.scenario}: pulumi ${[...new Set(g.pulumi.summary)].join(" | ")}; ansible ${[...new Set(g.ansible.summary)].join(" | ")}`;
});
const md = [
    `# github-flows-host benchmark: Pulumi program vs Ansible playbook`,
    "",
    `${new Date().toISOString()} — ${process.env.BENCH_ENV ?? ""}`,
    "",
    ...lines,
    "",
    "SSH conns = \"Accepted publickey\" lines sshd logged during the run (connections); SSH sessions = \"Starting session\" lines (exec/sftp channels).",
    "",
    "What each run did (pulumi: engine summary; ansible: PLAY RECAP totals):",
    ...what,
    ...(notes.length ? ["", "Consistency checks:", ...notes.map((n) => `- ${n[0]} host(s): ${n[1]}: ${n[2]}`)] : []),
    "",
].join("\n");
fs.writeFileSync(`${out}.md`, md);
fs.writeFileSync(`${out}.json`, JSON.stringify({ date: new Date().toISOString(), env: process.env.BENCH_ENV ?? "", groups, rows }, null, 2) + "\n");
process.stdout.write(`\n${lines.join("\n")}\n\n`);
