"""python3 bench/lib/phases.py V9_LOG: phases of one `pulumi preview --logtostderr -v=9` (bench/profile.sh).

Seconds since the first log line at which the engine logged each step: the language host and the program,
each provider plugin's launch and handshake, the first and last call of each kind (Check, Diff, Read,
Configure), the program's exit. Lines come as glog (`I1129 09:12:13.123456 pid file:line] msg`).
"""
import re
import sys

rows = []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"[IWE]\d{4} (\d+):(\d+):(\d+\.\d+)\s+\d+ \S+\] (.*)", line)
    if m:
        rows.append((int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)), m.group(4)))
if not rows:
    sys.exit("no glog lines in " + sys.argv[1])
t0 = rows[0][0]


def first(pat, after=0.0):
    for t, msg in rows:
        if t - t0 >= after and re.search(pat, msg):
            return t - t0
    return None


def last(pat):
    found = None
    for t, msg in rows:
        if re.search(pat, msg):
            found = t - t0
    return found


marks = [("CLI start (first log line)", 0.0)]
marks.append(("language host launched", first(r"Launching plugin 'nodejs'|language host|langhost.*Launching")))
run = first(r"langhost\[nodejs\]\.Run\(|Run\(.*program")
marks.append(("program started (langhost Run)", run))
marks.append(("first RegisterResource (node + @pulumi/pulumi + program modules loaded)", first(r"RegisterResource received", run or 0)))
# Every provider plugin: launch and handshake/ready.
plugins = []
for t, msg in rows:
    m = re.search(r"Launching plugin '([^']+)'", msg)
    if m:
        plugins.append((t - t0, m.group(1)))
for t, name in plugins:
    marks.append((f"plugin '{name}' launched", t))
    ready = first(rf"plugin.*{re.escape(name)}.*(loaded|handshake|Handshake|ready)|{re.escape(name)}.*GetPluginInfo", t)
    if ready is not None:
        marks.append((f"  ... '{name}' answered", ready))
for kind in ("CheckConfig", "Configure", "Check", "Diff", "Read"):
    f_ = first(rf"provider\[[^\]]*\]\.{kind}\(|\.{kind}\(urn:")
    l_ = last(rf"provider\[[^\]]*\]\.{kind}\(|\.{kind}\(urn:")
    if f_ is not None:
        marks.append((f"first {kind} call", f_))
        marks.append((f"last {kind} call", l_))
marks.append(("program exited", first(r"Program exited|program exited|Run.*finished|langhost\[nodejs\]\.Run\(.*\) success")))
marks.append(("last log line", rows[-1][0] - t0))
for name, t in sorted(marks, key=lambda x: (x[1] is None, x[1] or 0)):
    print(f"  {('%6.2f s' % t) if t is not None else '     - '}  {name}")
