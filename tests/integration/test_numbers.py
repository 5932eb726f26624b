"""Numbers from the command line: a typo exits 2 with a message naming the
option, never becomes 0 (rift-shim --cleanup --queue abc was queue 0 and
removed another shim's chain)."""
import os
import subprocess
import tempfile

import lib
import test_rift
from lib import check

RIFT = os.path.join(lib.ROOT, "bin", "rift")
RIFT_PROBE = os.path.join(lib.ROOT, "bin", "rift-probe")


def expect_usage_error(argv, message):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    check(r.returncode == 2, "%s: exit %d, not 2\n%s%s" % (argv, r.returncode, r.stdout, r.stderr))
    check(message in r.stderr, "%s: %r not in stderr %r" % (argv, message, r.stderr))
    return r


def chains(ns):
    return sorted(l.split()[0][1:] for l in ns.iptables_rift() if l.startswith(":"))


def test_shim_cleanup_bad_queue_removes_nothing(ns):
    ns.run(["iptables", "-N", "RIFT-Q0"], check=True)
    try:
        for q in ("abc", "-1", "70000", "1x", "", " 5", "99999999999999999999"):
            expect_usage_error(ns.cmd([lib.SHIM, "--cleanup", "--queue", q]),
                               "rift-shim: --queue: expected a queue number 0-65535")
            check(chains(ns) == ["RIFT-Q0"], "--queue %r: chains now %s" % (q, chains(ns)))
    finally:
        ns.run(["iptables", "-X", "RIFT-Q0"])
    check(chains(ns) == [], "left: %s" % chains(ns))


def test_shim_cleanup_takes_only_its_own_chain_names(ns):
    # "%u" would read each of these as queue 12 (the last one wraps).
    others = ["RIFT-Q12abc", "RIFT-Q012", "RIFT-Q4294967308", "RIFT-012-x", "RIFT-12-",
              "RIFT-12-a-b", "RIFT-4294967308-x", "RIFT-12-abcdefghijklmnopq"]
    ours = ["RIFT-Q12", "RIFT-12-run1"]
    for c in others + ours:
        ns.run(["iptables", "-N", c], check=True)
    try:
        r = ns.run([lib.SHIM, "--cleanup", "--queue", "12"])
        check(r.returncode == 0 and "removed 2 rift chains" in r.stderr,
              "exit %d: %s" % (r.returncode, r.stderr))
        check(chains(ns) == sorted(others), "chains now %s" % chains(ns))
        r = ns.run([lib.SHIM, "--cleanup"])
        check(r.returncode == 0 and "removed 0 rift chains" in r.stderr,
              "exit %d: %s" % (r.returncode, r.stderr))
        check(chains(ns) == sorted(others), "chains now %s" % chains(ns))
    finally:
        for c in others + ours:
            ns.run(["iptables", "-X", c])
    check(chains(ns) == [], "left: %s" % chains(ns))


def test_rift_bad_numbers(ns):
    scn = os.path.join(lib.ROOT, "harness", "scenarios", "baseline.ini")
    for runs in ("0", "abc", "-1", "2x", "51", "99999999999"):
        expect_usage_error([RIFT, "matrix", scn, "--runs", runs],
                           "rift matrix: --runs: expected a number from 1 to 50, not \"%s\"" % runs)
    for seed in ("12x", "-1", "", "99999999999999999999999"):
        expect_usage_error([RIFT, "run", "X", "--seed", seed], "rift run: --seed: expected")


def test_rift_probe_bad_numbers(ns):
    base = [RIFT_PROBE, "--seeds", "%s:%d" % (lib.NODE, lib.PORT), "--source", lib.CLIENT,
            "--duration", "1"]
    cases = [
        (["--keys", "abc"], "rift-probe: --keys:"),
        (["--keys", "0"], "rift-probe: --keys:"),
        (["--keys", "300"], "rift-probe: --keys:"),
        (["--duration", "1s"], "rift-probe: --duration:"),
        (["--duration", "-5"], "rift-probe: --duration:"),
        (["--duration", "nan"], "rift-probe: --duration:"),
        (["--interval-ms", "ten"], "rift-probe: --interval-ms:"),
        (["--ranges", "5-3"], "rift-probe: --ranges:"),
        (["--ranges", "0-16384"], "rift-probe: --ranges:"),
        (["--ranges", "0-100,x"], "rift-probe: --ranges:"),
        (["--ranges", "10-"], "rift-probe: --ranges:"),
    ]
    for extra, message in cases:
        r = expect_usage_error(ns.cmd(base + extra), message)
        check(r.stdout == "", "%s: wrote %r" % (extra, r.stdout))


def test_rift_check_loads_every_shipped_file_and_starts_nothing(ns):
    scn_dir = os.path.join(lib.ROOT, "harness", "scenarios")
    chaos_dir = os.path.join(lib.ROOT, "harness", "chaos")
    before = test_rift.rift_leftovers()
    said = []
    for d, flag in ((scn_dir, []), (chaos_dir, ["--chaos"])):
        for f in sorted(os.listdir(d)):
            if not f.endswith(".ini"):
                continue
            r = subprocess.run([RIFT, "check"] + flag + [os.path.join(d, f)],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 0, "rift check %s: exit %d: %s" % (f, r.returncode, r.stderr))
            check(" nodes (" in r.stdout, "rift check %s said %r" % (f, r.stdout))
            said.append(r.stdout.strip().split(": ", 1)[1])
    check(len(said) >= 12, "only %d files checked" % len(said))
    print("  %d files; e.g. %s" % (len(said), said[0]))
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.ini")
        with open(bad, "w") as f:
            f.write("[cluster]\nmasters = 3\n[check]\ncycles = forbid\nempty_primaries = maybe\n")
        r = expect_usage_error([RIFT, "check", bad], bad + ":5:")
        with open(bad, "w") as f:
            f.write("[cluster]\nmasters = 3\n[check]\nnot_a_check = forbid\n")
        r = expect_usage_error([RIFT, "check", bad], bad + ":4: unknown key 'not_a_check'")
        # the list of what [check] takes is whole (it was cut at 128 bytes)
        check(r.stderr.rstrip().endswith("chained_replicas, empty_primaries)"), r.stderr)
        hosts = os.path.join(tmp, "hosts.ini")
        with open(hosts, "w") as f:
            f.write("[host a]\nssh = root@127.0.0.1\naddr = 127.0.0.1\n"
                    "[host b]\nssh = root@127.0.0.2\naddr = 127.0.0.2\n")
        r = subprocess.run([RIFT, "check", "--hosts", hosts], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout == hosts + ": a hosts file of 2 hosts\n",
              "%d %r %r" % (r.returncode, r.stdout, r.stderr))
        expect_usage_error([RIFT, "check", "--hosts", bad], bad + ":1: unknown section [cluster]")
        expect_usage_error([RIFT, "check", "--policy", bad], "usage: rift check")
    check(test_rift.rift_leftovers() == before, "rift check left %s" % test_rift.rift_leftovers())


def test_rift_version_names_the_commit_it_was_built_from(ns):
    import re
    r = subprocess.run([RIFT, "--version"], capture_output=True, text=True, timeout=10)
    m = re.fullmatch(r"rift (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12})(-dirty)?\)\n", r.stdout)
    check(r.returncode == 0 and m, "rift --version: %d %r" % (r.returncode, r.stdout))
    head = subprocess.run(["git", "-C", lib.ROOT, "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    # a commit made since the build would make this a stale binary, not a pass
    check(head.startswith(m.group(2)), "built from %s, the tree is at %s" % (m.group(2), head))
    print("  " + r.stdout.strip())
