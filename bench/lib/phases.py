"""python3 bench/lib/phases.py V9_LOG: where one `pulumi preview --logtostderr -v=9` waits (bench/profile.sh).

Reads the engine's log (JSON lines with "time" and "msg"; glog lines as a fallback) and prints the phases in
seconds: CLI start and language host, node + @pulumi/pulumi, the program's modules (ts-node), each provider
plugin's start (launch to handshake), the resources' Check/Diff/Read calls (the diffs read the host over SSH),
the program's exit and the engine's shutdown.
"""
import json
import re
import sys


def parse(path):
    rows = []
    for line in open(path, errors="replace"):
        t = msg = None
        if line.startswith("{"):
            try:
                d = json.loads(line)
                t, msg = d.get("time"), d.get("msg", "")
            except ValueError:
                pass
            if t:
                h, m, s = t.rstrip("Z").split("T")[1].split(":")
                t = int(h) * 3600 + int(m) * 60 + float(s)
        else:
            g = re.match(r"[IWE]\d{4} (\d+):(\d+):(\d+\.\d+)\s+\d+ \S+\] (.*)", line)
            if g:
                t, msg = int(g.group(1)) * 3600 + int(g.group(2)) * 60 + float(g.group(3)), g.group(4)
        if t is not None:
            rows.append((t, msg))
    return rows


rows = parse(sys.argv[1])
if not rows:
    sys.exit("no engine log lines in " + sys.argv[1])
t0 = rows[0][0]


def first(pat, after=None):
    for t, msg in rows:
        if (after is None or t - t0 >= after) and re.search(pat, msg):
            return t - t0
    return None


def last(pat):
    found = None
    for t, msg in rows:
        if re.search(pat, msg):
            found = t - t0
    return found


def span(name, a, b, note=""):
    if a is None or b is None:
        print(f"     -            {name}")
    else:
        print(f"  {a:5.2f} -> {b:5.2f}  {b - a:5.2f} s  {name}{note}")


end = rows[-1][0] - t0
run = first(r"langhost\[nodejs\]\.Run\(")
stack = first(r"RegisterResource received: t=pulumi:pulumi:Stack")
program = first(r"RegisterResource received: t=(?!pulumi:pulumi:Stack)")
exited = first(r"Program exited|langhost\[nodejs\]\.Run\(.*\) success")
print("  from    to      took   phase")
span("CLI start, language host (twice: About, then Run)", 0.0, run)
span("node + @pulumi/pulumi loaded (Run -> the Stack registered)", run, stack)
span("the program loaded (its build, or ts-node) and the providers serialized -> first component", stack, program)
# Provider plugins: from launch to the handshake (or GetPluginInfo) that follows.
for t, msg in rows:
    m = re.search(r"Launching plugin '([^']+)' from '([^']+)'", msg)
    if m and "(resource)" in m.group(1):
        a = t - t0
        b = first(rf"Handshake.*{re.escape(m.group(2))}|Provider\[[^\]]+\]\.GetPluginInfo\(\) success", a)
        span(f"plugin {m.group(1)} started (launch -> handshake)", a, b)
calls = r"Provider\[[^\]]+\]\.(Check|Diff|Read|Create|Update|Delete)\("
n = sum(1 for _, msg in rows if re.search(calls + r".*executing", msg))
span(f"resources checked and diffed ({n} provider calls; the dynamic providers' diffs read the host over SSH)", first(calls), last(calls))
# Each provider call's own duration (executing -> success), summed per plugin and method.
plugin_of = {}
for _, msg in rows:
    m = re.search(r"(Provider\[[^\]]+\])\.GetPluginInfo\(\) success \(#version=([^)]+)\)", msg)
    if m:
        plugin_of[m.group(1)] = {"1.2.1": "command", "5.2.0": "docker"}.get(m.group(2), f"v{m.group(2)} (pulumi-nodejs: the dynamic providers)")
started, took = {}, {}
for t, msg in rows:
    m = re.search(r"(Provider\[[^\]]+\])\.(Check|Diff|Read|Create|Update|Delete)\((?:[^,)]*,)?(urn:[^,)]+)[^)]*\).*?(executing|success|unimplemented|failed)", msg)
    if not m:
        continue
    key = (m.group(1), m.group(2), m.group(3))
    if m.group(4) == "executing":
        started[key] = t
    elif key in started:
        k = (plugin_of.get(m.group(1), m.group(1)), m.group(2))
        n_, sum_ = took.get(k, (0, 0.0))
        took[k] = (n_ + 1, sum_ + t - started.pop(key))
for (plugin, method), (n_, sum_) in sorted(took.items()):
    print(f"                  {sum_:5.2f} s  {n_} {method} call(s) of plugin {plugin}, summed")
span("program exit after the last call", last(calls), exited)
span("engine shutdown (plugins killed, snapshot)", exited, end)
print(f"  total {end:5.2f} s (log time; the -v=9 log itself adds some)")
