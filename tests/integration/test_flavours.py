"""Server flavours from any Debian suite and the rebuilt valkey-1912: the
baseline on each new flavour (one run each), SEEDS.md section 4's crash
on valkey-1912 and not on valkey 8.1.1, and the errors a missing or
misspelt flavour gives, and valkey-io/valkey#3468's empty primary on 8.1.1."""
import json
import os
import subprocess
import time

import lib
from lib import check

RIFT = os.path.join(lib.ROOT, "bin", "rift")
SCN = os.path.join(lib.ROOT, "harness", "scenarios")


def run(scenario, server, report):
    t = time.monotonic()
    r = subprocess.run([RIFT, "run", os.path.join(SCN, scenario), "--server", server,
                        "--report", report], capture_output=True, text=True, timeout=180)
    with open(os.path.join(report, "report.json")) as f:
        return r, json.load(f), time.monotonic() - t


def test_baseline_passes_on_every_new_flavour(ns):
    want = {"valkey@sid": ("9.1.2", "valkey-server 9.1.2"),
            "redis@sid": ("8.0.6", "redis-server 5:8.0.6"),
            "valkey@bookworm-backports": ("8.0.1", "valkey-server 8.0.1")}
    for server, (version, package) in want.items():
        r, rep, secs = run("baseline.ini", server, os.path.join(ns.tmp, server))
        check(r.returncode == 0, "%s: exit %d\n%s%s" % (server, r.returncode, r.stdout,
                                                        r.stderr[-2000:]))
        check(rep["server"] == server and rep["server_version"] == version,
              "%s: %s %s" % (server, rep["server"], rep["server_version"]))
        check(rep["server_package"].startswith(package), rep["server_package"])
        print("  %s: %s, pass in %.1f s" % (server, rep["server_package"], secs))


def check_of(rep, name):
    return [c for c in rep["checks"] if c["name"] == name][0]


def crashes(rep):
    c = check_of(rep, "crashes")
    return c, " | ".join(o["what"] for o in c["observations"])


def test_slot_stats_crash_on_valkey_1912_and_not_on_8_1_1(ns):
    r, rep, s1 = run("slot-stats-crash.ini", "valkey-1912", os.path.join(ns.tmp, "1912"))
    c, what = crashes(rep)
    check(r.returncode == 0 and c["status"] == "pass", r.stdout + r.stderr[-2000:])
    check("exited (signal" in what and "cluster_slot_stats.c" in what and
          "network_bytes_out" in what, what)
    assertion = [w for w in what.split(" | ") if "cluster_slot_stats.c" in w][0]
    crash_ms = min(o["first_ms"] for o in c["observations"])
    failover_ms = [s["t_ms"] for s in rep["steps"] if s["step"].startswith("failover")][0]
    check(failover_ms <= crash_ms < failover_ms + 5000, "crash at %d ms, failover at %d ms" %
          (crash_ms, failover_ms))
    r, rep, s2 = run("slot-stats-crash.ini", "valkey", os.path.join(ns.tmp, "811"))
    c, what = crashes(rep)
    check(r.returncode == 1 and c["status"] == "fail" and c["observations"] == [],
          "valkey 8.1.1: exit %d, %s" % (r.returncode, what))
    print("  valkey-1912: exit at %.3f s (failover at %.3f s), %s; %.1f s. valkey 8.1.1: no crash, "
          "%.1f s" % (crash_ms / 1000, failover_ms / 1000, assertion[:110], s1, s2))


def test_missing_and_misspelt_flavours_are_errors(ns):
    del ns
    scn = os.path.join(SCN, "baseline.ini")
    r = subprocess.run([RIFT, "run", scn, "--server", "valkey@nosuchsuite"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "run `rift fetch valkey@nosuchsuite` (or `make server-nosuchsuite`)" in r.stderr, r.stderr)
    r = subprocess.run([RIFT, "run", scn, "--server", "keydb@sid"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 2 and "NAME@SUITE" in r.stderr, r.stderr)


def test_sibling_replica_chain_on_redis_8_0_6_and_not_on_7_0_15(ns):
    r, rep, s1 = run("sibling-replica-chain.ini", "redis@sid", os.path.join(ns.tmp, "806"))
    c = check_of(rep, "chained_replicas")
    check(r.returncode == 0 and c["status"] == "pass", r.stdout + r.stderr[-2000:])
    whats = {o["what"] for o in c["observations"]}
    check(whats == {"m1r2 is a replica of m1, which is a replica of m1r1"}, str(whats))
    observers = sorted(o["observer"] for o in c["observations"])
    check(len(observers) == 9, "seen by %s, not by all 9 nodes" % observers)
    r, rep, s2 = run("sibling-replica-chain.ini", "redis", os.path.join(ns.tmp, "7015"))
    c = check_of(rep, "chained_replicas")
    check(r.returncode == 1 and c["observations"] == [], "7.0.15: %s" % c)
    conv = check_of(rep, "convergence")
    check(conv["status"] == "pass", str(conv))
    print("  redis 8.0.6: m1r2 -> m1 -> m1r1 in all 9 last views (%.1f s); redis 7.0.15 heals "
          "(%.1f s)" % (s1, s2))


def test_atomic_migration_on_valkey_9_and_an_error_on_8_1(ns):
    r, rep, secs = run("migrate-atomic.ini", "valkey@sid", os.path.join(ns.tmp, "atomic"))
    check(r.returncode == 0, r.stdout + r.stderr[-2000:])
    m = rep["migrations"][0]
    check(m["slots"] == "0-99" and m["moved"] == 100 and m["keys"] >= 1000, str(m))
    check(rep["workload"]["lost_writes"] == 0, str(rep["workload"]))
    check(any(s["step"].endswith("atomic (started)") for s in rep["steps"]), str(rep["steps"]))
    r2 = subprocess.run([RIFT, "run", os.path.join(SCN, "migrate-atomic.ini"), "--server",
                         "valkey"], capture_output=True, text=True, timeout=120)
    check(r2.returncode == 2 and "has no CLUSTER MIGRATESLOTS" in r2.stderr, r2.stderr[-1000:])
    print("  valkey 9.1.2: 100 slots, %d keys moved atomically in %d ms, %d INCRs acknowledged "
          "(%.1f s); valkey 8.1.1: exit 2" % (m["keys"], m["ms"], rep["workload"]["acknowledged"],
                                              secs))


def test_empty_primary_on_valkey_8_1_1(ns):
    r, rep, secs = run("empty-primary.ini", "valkey", os.path.join(ns.tmp, "empty"))
    c = check_of(rep, "empty_primaries")
    check(r.returncode == 0 and c["status"] == "pass", r.stdout + r.stderr[-2000:])
    whats = {o["what"] for o in c["observations"]}
    check(whats == {"m1r2 is a primary with no slots (a replica at the start)"}, str(whats))
    check(len(c["observations"]) == 9, "seen by %d of 9 nodes" % len(c["observations"]))
    with open(os.path.join(ns.tmp, "empty", "m1r2.log")) as f:
        log = f.read()
    check("I'm a sub-replica!" in log and "Failover election won" in log, log[-3000:])
    conv = check_of(rep, "convergence")
    check(conv["status"] == "pass", str(conv))
    print("  valkey 8.1.1: m1r2 followed dead m1 after the stale PONG, won an election, and is "
          "an empty primary in all 9 last views (%.1f s)" % secs)
