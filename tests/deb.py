#!/usr/bin/python3
"""The Debian packages end to end, as a user gets them: `make deb` from a
clean clone of HEAD, lintian, `apt-get install ./rift_*.deb
./rift-shim_*.deb` into this machine, then from / (no source tree in
sight): the default scenario, rift fetch and a baseline on Valkey of sid,
the heal scenario with every probe, the man pages and bash completion;
then `apt-get purge` leaves no file of either package and no cache, and
nothing of a run is left. Run as root by `make deb-test` (and by make test
with RIFT_DEB_TEST=1). Usage: deb.py ROOT"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
PKGS = ["rift", "rift-shim"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL " + what)
    return cond


def sh(argv, timeout=600, cwd="/", env=None, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env, **kw)


def installed(pkg):
    r = sh(["dpkg-query", "-W", "-f=${Status}", pkg])
    return r.returncode == 0 and "install ok installed" in r.stdout


def leftovers():
    left = [l.split()[0] for l in sh(["ip", "netns", "list"]).stdout.splitlines()
            if l.startswith("rift-")]
    left += glob.glob("/run/rift/runs/*") + glob.glob("/tmp/rift-[0-9a-f]*")
    left += [l for l in sh(["iptables-save"]).stdout.splitlines() if "RIFT" in l]
    return left


def timed(name, argv, timeout=600, env=None):
    t = time.monotonic()
    r = sh(argv, timeout=timeout, env=env)
    secs = time.monotonic() - t
    print("  %-52s exit %d in %5.1f s" % (name, r.returncode, secs))
    return r, secs


def user_env():
    """A shell's environment with nothing pointing at the tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIFT_")}
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return env


def report_check(report, name):
    with open(os.path.join(report, "report.json")) as f:
        rep = json.load(f)
    return next((c for c in rep["checks"] if c["name"] == name), None), rep


def build():
    t = time.monotonic()
    r = sh(["make", "-s", "-C", ROOT, "deb"], timeout=1800, cwd=ROOT)
    secs = time.monotonic() - t
    print("make deb: exit %d in %.0f s" % (r.returncode, secs))
    if not check(r.returncode == 0, "make deb: %s%s" % (r.stdout[-3000:], r.stderr[-3000:])):
        return None
    debs = {p: glob.glob(os.path.join(ROOT, "build/deb/%s_*_amd64.deb" % p))[0] for p in PKGS}
    version = sh(["make", "-s", "-C", ROOT, "--eval=v:;@echo $(RIFT_VERSION)", "v"],
                 cwd=ROOT).stdout.strip()
    for p, deb in debs.items():
        v = sh(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
        size = os.path.getsize(deb)
        inst = int(sh(["dpkg-deb", "-f", deb, "Installed-Size"]).stdout.strip() or 0)
        print("  %-26s %6.2f MB, installed %6.1f MB" % (os.path.basename(deb), size / 1e6,
                                                      inst / 1024))
        check(v == version, "%s: version %r, the Makefile says %r" % (deb, v, version))
    lint = open(os.path.join(ROOT, "build/deb/lintian.txt")).read()
    errors = [l for l in lint.splitlines() if l.startswith("E:")]
    warnings = [l for l in lint.splitlines() if l.startswith("W:")]
    print("  lintian: %d errors, %d warnings" % (len(errors), len(warnings)))
    for l in sorted({" ".join(l.split()[:3]) for l in warnings}):
        print("    " + l)
    check(errors == [], "lintian errors:\n" + "\n".join(errors))
    return debs


def use_installed(work):
    env = user_env()
    r = sh(["rift", "--version"], env=env)
    head = sh(["git", "-C", ROOT, "rev-parse", "HEAD"]).stdout.strip()
    m = re.fullmatch(r"rift (\S+) \(commit ([0-9a-f]{12})\)\n", r.stdout)
    check(m and head.startswith(m.group(2)), "rift --version: %r (HEAD %s)" % (r.stdout, head))
    print("  " + r.stdout.strip())
    check(sh(["which", "rift"], env=env).stdout.strip() == "/usr/bin/rift", "rift is not /usr/bin")
    # the default scenario: the pong race, its cycle seen
    rep = os.path.join(work, "pong")
    r, _ = timed("rift run failover-pong-race.ini", ["rift", "run",
                 "/usr/share/rift/scenarios/failover-pong-race.ini", "--report", rep], env=env)
    check(r.returncode == 0, "pong race: exit %d %s%s" % (r.returncode, r.stdout[-2000:],
                                                          r.stderr[-2000:]))
    if r.returncode == 0:
        c, _ = report_check(rep, "cycles")
        check(c and c["observations"], "pong race: no cycle in report.json: %s" % c)
    # what is not fetched yet is named with the command that gets it
    r = sh(["rift", "run", "/usr/share/rift/scenarios/baseline.ini", "--server", "valkey@sid"],
           env=env)
    check(r.returncode == 2 and "run `rift fetch valkey@sid`" in r.stderr and "make" not in
          r.stderr, "before the fetch: exit %d %r" % (r.returncode, r.stderr))
    print("  before rift fetch: " + r.stderr.strip()[:200])
    r, _ = timed("rift fetch valkey@sid clients", ["rift", "fetch", "valkey@sid", "clients"],
                 env=env)
    print("    " + "\n    ".join(l for l in r.stdout.splitlines() if "MiB" in l))
    check(r.returncode == 0, "rift fetch: exit %d %s%s" % (r.returncode, r.stdout[-2000:],
                                                           r.stderr[-2000:]))
    st = os.stat("/var/cache/rift")
    check(st.st_uid == 0 and not st.st_mode & 0o022, "/var/cache/rift: mode %o" % st.st_mode)
    r = sh(["rift", "fetch", "--list"], env=env)
    check("sid " in r.stdout and "failover-pong-race.ini       redis: ready" in r.stdout,
          "rift fetch --list:\n" + r.stdout)
    rep = os.path.join(work, "baseline-sid")
    r, _ = timed("rift run baseline.ini --server valkey@sid", ["rift", "run",
                 "/usr/share/rift/scenarios/baseline.ini", "--server", "valkey@sid", "--report",
                 rep], env=env)
    check(r.returncode == 0, "baseline on valkey@sid: exit %d %s%s" %
          (r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
    if r.returncode == 0:
        _, j = report_check(rep, "cycles")
        check(j.get("server_package", "").startswith("valkey-server 9."),
              "baseline: server %r, not sid's valkey-server" % j.get("server_package"))
        print("    server: %s" % j.get("server_package"))
    rep = os.path.join(work, "heal")
    r, _ = timed("rift run client-slot-cache-heal.ini", ["rift", "run",
                 "/usr/share/rift/scenarios/client-slot-cache-heal.ini", "--report", rep],
                 env=env)
    check(r.returncode == 0, "heal scenario: exit %d %s%s" % (r.returncode, r.stdout[-2000:],
                                                           r.stderr[-2000:]))
    if r.returncode == 0:
        c, j = report_check(rep, "heal")
        clients = {p["name"]: p["healed"] for p in j.get("clients", [])}
        print("    clients healed: %s; heal check: %s" % (clients, c and c["status"]))
        check(sorted(clients) == sorted(["rift", "redis-py", "redis-py-6", "redis-py@sid",
                                         "ioredis", "node-redis", "iovalkey", "valkey-glide"]),
              "heal scenario: clients %s" % clients)
    r = sh(["man", "-w", "rift", "rift-scenario", "rift-shim", "rift-policy", "rift-chaos"],
           env=env)
    check(r.returncode == 0 and r.stdout.split() == [
        "/usr/share/man/man1/rift.1.gz", "/usr/share/man/man5/rift-scenario.5.gz",
        "/usr/share/man/man8/rift-shim.8.gz", "/usr/share/man/man5/rift-policy.5.gz",
        "/usr/share/man/man5/rift-chaos.5.gz"], "man -w: %r" % r.stdout)
    comp = ("source /usr/share/bash-completion/bash_completion; "
            "COMP_WORDS=(rift run x.ini --server valkey@s); COMP_CWORD=4; "
            "COMP_LINE='rift run x.ini --server valkey@s'; COMP_POINT=${#COMP_LINE}; "
            "_completion_loader rift; _rift; echo ${COMPREPLY[*]}")
    r = sh(["bash", "-c", comp], env=env)
    check(r.stdout.split() == ["valkey@sid"], "completion of --server valkey@s: %r %r" %
          (r.stdout, r.stderr))
    r = sh(["rift", "cleanup"], env=env)
    check(r.returncode == 0 and "0 runs cleaned" in r.stdout, "rift cleanup: %r" % r.stdout)


def main():
    if os.geteuid() != 0:
        print("deb.py installs packages: run it as root")
        return 2
    for p in PKGS:
        if installed(p):
            print("deb.py: %s is installed on this machine; the test installs and purges it" % p)
            return 2
    if os.path.exists("/var/cache/rift"):
        print("deb.py: /var/cache/rift exists; the test fetches into it and purges it")
        return 2
    t_all = time.monotonic()
    debs = build()
    if not debs:
        return 1
    files = []
    with tempfile.TemporaryDirectory(prefix="rift-deb-") as work:
        os.chmod(work, 0o700)
        try:
            r, _ = timed("apt-get install ./rift_*.deb ./rift-shim_*.deb",
                         ["apt-get", "install", "-y", "-qq", debs["rift"], debs["rift-shim"]],
                         env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            if check(r.returncode == 0, "apt-get install: %s%s" % (r.stdout[-2000:],
                                                                   r.stderr[-2000:])):
                for p in PKGS:
                    files += [f for f in sh(["dpkg", "-L", p]).stdout.splitlines()
                              if os.path.isfile(f) or os.path.islink(f)]
                print("  %d files installed" % len(files))
                use_installed(work)
        finally:
            r, _ = timed("apt-get purge rift rift-shim", ["apt-get", "purge", "-y", "-qq"] + PKGS,
                         env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            check(r.returncode == 0, "apt-get purge: %s" % r.stderr[-2000:])
    left = [f for f in files if os.path.lexists(f)]
    left += [d for d in ("/var/cache/rift", "/usr/lib/rift", "/usr/share/rift",
                         "/usr/share/doc/rift") if os.path.exists(d)]
    check(left == [], "after the purge: %s" % left[:20])
    check(leftovers() == [], "left behind: %s" % leftovers())
    print("deb.py: %d failure%s in %.0f s" % (len(failures), "" if len(failures) == 1 else "s",
                                              time.monotonic() - t_all))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
