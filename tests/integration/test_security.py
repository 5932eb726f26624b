"""What rift promises a shared host: every cluster it starts asks for a
password that is made for the run (or chosen in [cluster] password), that
no node answers without it, that no command line and no report file holds
it, and that the run's own clients (observer, workload, probes, the app)
use it."""
import json
import os
import subprocess

import lib
from lib import check

RIFT = os.path.join(lib.ROOT, "bin", "rift")
APP = os.path.join(lib.ROOT, "tests", "integration", "apps", "auth_check.py")

AUTH_SCN = """[cluster]
masters = 3
replicas = 1
%s
[workload]
writers = 1
[clients]
probes = rift, redis-py
start = 0.1s
[app]
command = /usr/bin/python3 %s
env.AUTH_CHECK_OUT = %s
[timeline]
0.3s = wait converged
1.0s = failover m1r1
2.0s = wait converged
"""


def scenario(ns, name, text):
    path = os.path.join(ns.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def files_with(folder, needle):
    hits = []
    for root, _, files in os.walk(folder):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                if needle.encode() in fh.read():
                    hits.append(f)
    return hits


def auth_run(ns, tag, password_line):
    out = os.path.join(ns.tmp, tag + ".pw")
    scn = scenario(ns, tag + ".ini", AUTH_SCN % (password_line, APP, out))
    report = os.path.join(ns.tmp, tag)
    r = subprocess.run([RIFT, "run", scn, "--report", report], capture_output=True, text=True,
                       timeout=180)
    check(r.returncode == 0, "exit %d\n%s%s" % (r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    pw = open(out).read()
    got = json.loads(open(os.path.join(report, "app.log")).read().splitlines()[-1])
    rep = json.load(open(os.path.join(report, "report.json")))
    check(got["refused"] == ["m1", "m1r1", "m2", "m2r1", "m3", "m3r1"], got["refused"])
    for name, g in got["nodes"].items():
        check(g["FLUSHALL"].startswith("-NOAUTH") and g["AUTH"] == "+OK", (name, g))
    check(got["cmdlines_with_password"] == [], got)
    check(got["url"] == "redis://:PASSWORD@127.0.0.11:7000", got["url"])
    check(rep["password"] == "set", rep.get("password"))
    check(files_with(report, pw) == [], "the password is in %s" % files_with(report, pw))
    check(pw not in r.stdout + r.stderr, "the password was printed")
    # the run's own clients used it: the workload wrote, the probes healed
    check(rep["workload"]["acknowledged"] > 100, rep["workload"])
    check(all(c["healed"] for c in rep["clients"]), rep["clients"])
    return pw, rep


def test_every_node_refuses_a_client_without_the_run_password(ns):
    pw, rep = auth_run(ns, "made", "")
    check(len(pw) == 32 and all(c in "0123456789abcdef" for c in pw), "made: %r" % len(pw))
    pw2, _ = auth_run(ns, "chosen", "password = my.Own-pass_42")
    check(pw2 == "my.Own-pass_42", pw2)
    print("  6 of 6 nodes refused PING, CLUSTER NODES, FLUSHALL and CONFIG GET without the "
          "password, and a wrong one; a made password of 32 hex digits and a chosen one; "
          "in no command line and no report file; workload %d acknowledged writes, "
          "probes healed" % rep["workload"]["acknowledged"])


def test_a_password_rift_cannot_pass_on_is_refused_with_its_line(ns):
    for bad in ("short", "has space in it", 'quo"te-pass', "x" * 65):
        scn = scenario(ns, "bad.ini", "[cluster]\nmasters = 3\npassword = %s\n"
                       "[timeline]\n0.1s = wait converged\n" % bad)
        r = subprocess.run([RIFT, "run", scn], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "bad.ini:3: password: expected 8 to 64" in r.stderr,
              "%r: exit %d %s" % (bad, r.returncode, r.stderr))
    # [server] cannot take the password directives over
    for key in ("requirepass", "masterauth", "protected-mode"):
        scn = scenario(ns, "srv.ini", "[cluster]\nmasters = 3\n[server]\n%s = x\n" % key)
        r = subprocess.run([RIFT, "run", scn], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "srv.ini:4: [server]: %s is set by rift" % key in r.stderr,
              "%s: exit %d %s" % (key, r.returncode, r.stderr))
