"""rift run end to end: real Redis Cluster runs in namespaces of rift's own,
their verdicts and reports, and what is left after errors, SIGINT and
SIGKILL (namespaces, processes, registry, temp dirs)."""
import glob
import json
import os
import signal
import subprocess
import time

import lib
from lib import check, wait_for

RIFT = os.path.join(lib.ROOT, "bin", "rift")
SCN = os.path.join(lib.ROOT, "harness", "scenarios")


def rift_leftovers():
    left = []
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    left += [l.split()[0] for l in ns.splitlines() if l.startswith("rift-") and
             not l.startswith("rift-t")]
    left += glob.glob("/run/rift/runs/*")
    left += glob.glob("/tmp/rift-[0-9a-f]*")
    left += glob.glob("/tmp/rift-matrix-*")
    left += glob.glob("/tmp/rift-chaos-*")
    return left


def registered():
    """(pid, start time, role) of every process the runs in progress
    registered, in the order they started (servers, the shim, probes)."""
    out = []
    for d in glob.glob("/run/rift/runs/*"):
        if os.path.exists(d + "/pids"):
            for line in open(os.path.join(d, "pids")):
                pid, start, role = line.split()
                out.append((int(pid), int(start), role))
    return out


def registered_pids():
    return [p for p, _, _ in registered()]


def registered_role(role):
    return [p for p, _, r in registered() if r == role]


def rift_run(scenario, report=None, timeout=120, extra=()):
    argv = [RIFT, "run", scenario] + list(extra)
    if report:
        argv += ["--report", report]
    t = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return r, time.monotonic() - t


def test_baseline_passes_every_check(ns):
    report = os.path.join(ns.tmp, "report")
    r, secs = rift_run(os.path.join(SCN, "baseline.ini"), report)
    print("  baseline: exit %d in %.1f s; %s" % (r.returncode, secs,
                                                 r.stdout.strip().splitlines()[-1]))
    check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    rep = json.load(open(os.path.join(report, "report.json")))
    check(rep["verdict"] == "pass" and rep["server_version"] == "7.0.15", "report %s" % rep)
    check(rep["schema_version"] == 1, "schema_version %s" % rep.get("schema_version"))
    names = {c["name"]: c for c in rep["checks"]}
    for c in ("cycles", "lost_slots", "crashes", "open_slots", "convergence", "heal",
              "crossslot"):
        check(names[c]["status"] == "pass", "check %s: %s" % (c, names[c]))
    # the probes' own traffic, audited: single-key SET and GET only
    audit = rep["crossslot_audit"]
    check(rep["crossslot"] == [] and audit["requests"] > 1000 and
          audit["requests"] == audit["replies"] and audit["undecodable"] == 0 and
          audit["joined_midstream"] == 0, "audit %s" % audit)
    # Every probe heals trivially in the baseline.
    check([(c["name"], c["healed"]) for c in rep["clients"]] ==
          [("rift", True), ("redis-py", True), ("redis-py-6", True), ("ioredis", True),
           ("node-redis", True)], "clients %s" % rep["clients"])
    check(all(c["heal_ms"] <= 5000 for c in rep["clients"]), "clients %s" % rep["clients"])
    check(names["cycles"]["observations"] == [], "a cycle in the baseline")
    junit = open(os.path.join(report, "junit.xml")).read()
    check(junit.count("<testcase") == 9 and 'failures="0"' in junit, junit)
    for f in ("summary.txt", "views.jsonl", "m1.log", "m1r1.log", "shim.log"):
        check(os.path.exists(os.path.join(report, f)), "report lacks " + f)
    views = [json.loads(l) for l in open(os.path.join(report, "views.jsonl"))]
    whole = {}
    for v in views:
        check(("nodes" in v) != ("same" in v), "neither a view nor 'same': %s" % v)
        whole[v["node"]] = whole.get(v["node"], 0) + ("nodes" in v)
    print("  views.jsonl: %d lines, %d whole views (%s)" % (
        len(views), sum(whole.values()), ", ".join("%s %d" % kv for kv in sorted(whole.items()))))
    check(sorted(whole) == ["m1", "m1r1", "m2", "m2r1", "m3", "m3r1"] and min(whole.values()) >= 1,
          "whole views per node: %s" % whole)
    check(len(views) > 6 * 20, "only %d view lines" % len(views))
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_pong_race_shows_cycle_and_lost_slots_3_of_3(ns):
    # RIFT_RACE_RUNS=10 for the longer opt-in run (every run must show it).
    runs = int(os.environ.get("RIFT_RACE_RUNS", "3"))
    seen = []
    for i in range(runs):
        report = os.path.join(ns.tmp, "race%d" % i)
        r, secs = rift_run(os.path.join(SCN, "failover-pong-race.ini"), report)
        rep = json.load(open(os.path.join(report, "report.json")))
        checks = {c["name"]: c for c in rep["checks"]}
        cyc = checks["cycles"]["observations"]
        lost = checks["lost_slots"]["observations"]
        print("  run %d: exit %d in %.1f s; cycle %s; lost slots %s" % (
            i + 1, r.returncode, secs,
            ["%s saw %s %d-%d ms" % (o["observer"], o["what"], o["first_ms"], o["last_ms"])
             for o in cyc],
            ["%s saw %s" % (o["observer"], o["what"]) for o in lost]))
        check(r.returncode == 0, "run %d exit %d:\n%s\n%s" % (i + 1, r.returncode, r.stdout,
                                                              r.stderr[-3000:]))
        cycle = any(o["observer"] == "m2" and "m1r1" in o["what"] and "m1 " in o["what"] + " "
                    and sorted(o["nodes"]) == ["m1", "m1r1"] for o in cyc)
        hole = any(o["observer"] == "m2" and o["what"] == "0-5460" and o["slots"] == [[0, 5460]]
                   for o in lost)
        seen.append(cycle and hole)
    print("  the m1/m1r1 cycle and the hole 0-5460 in m2's view in %d of %d runs" % (
        seen.count(True), runs))
    check(seen.count(True) == runs, "seen in %d of %d runs: %s" % (seen.count(True), runs, seen))
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_bad_scenario_exits_2_with_file_line(ns):
    path = os.path.join(ns.tmp, "bad.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\n[timeline]\n1s = failover m2\n")
    r, _ = rift_run(path)
    check(r.returncode == 2, "exit %d" % r.returncode)
    check(r.stderr.startswith(path + ":4: "), "error: " + r.stderr)
    print("  " + r.stderr.strip())
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_sigint_cleans_up_and_exits_130(ns):
    p = subprocess.Popen([RIFT, "run", os.path.join(SCN, "failover-pong-race.ini")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: glob.glob("/run/rift/runs/*"), 20, "the run to register")
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    check(p.returncode == 130, "exit %d: %s" % (p.returncode, err[-2000:]))
    check("interrupted" in err, err[-2000:])
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_sigkill_then_rift_cleanup_leaves_nothing(ns):
    p = subprocess.Popen([RIFT, "run", os.path.join(SCN, "failover-pong-race.ini")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(registered_pids()) >= 7, 30, "the servers and the shim to start")
    pids = registered_pids()
    p.kill()
    p.wait()
    before = rift_leftovers()
    alive = [x for x in pids if os.path.exists("/proc/%d" % x)]
    check(before and alive, "nothing left to clean? %s %s" % (before, alive))
    r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True)
    print("  after SIGKILL: %d processes and %s; %s" % (len(alive), before,
                                                      r.stdout.strip().splitlines()[0]))
    check(r.returncode == 0, r.stderr)
    time.sleep(0.2)
    check(rift_leftovers() == [], "left after cleanup: %s" % rift_leftovers())
    still = [x for x in pids if os.path.exists("/proc/%d" % x) and
             "zombie" not in open("/proc/%d/status" % x).read().lower()]
    check(still == [], "processes still running: %s" % still)


def test_migrate_under_faults_loses_no_write(ns):
    report = os.path.join(ns.tmp, "report")
    r, secs = rift_run(os.path.join(SCN, "migrate-under-faults.ini"), report)
    rep = json.load(open(os.path.join(report, "report.json")))
    wl, mig = rep["workload"], rep["migrations"][0]
    print("  exit %d in %.1f s: %d INCRs, %d acknowledged, %d lost; errors %s; migration %s"
          % (r.returncode, secs, wl["ops"], wl["acknowledged"], wl["lost_writes"],
             {k: v for k, v in wl["errors"].items() if v}, mig))
    check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    check(mig["moved"] == 300 and mig["keys"] >= 1000, "migration %s" % mig)
    check(wl["lost_writes"] == 0 and wl["ops"] > 1000, "workload %s" % wl)
    shim = rep["shim"]["rules"]
    check(shim["src-dst"]["delayed"] > 0 and shim["client-links"]["matched"] > 0,
          "faults did not touch the traffic: %s" % shim)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_partition_minority_reports_lost_acknowledged_writes(ns):
    report = os.path.join(ns.tmp, "report")
    r, secs = rift_run(os.path.join(SCN, "partition-minority.ini"), report)
    rep = json.load(open(os.path.join(report, "report.json")))
    wl = rep["workload"]
    checks = {c["name"]: c for c in rep["checks"]}
    print("  exit %d in %.1f s: %d INCRs, %d acknowledged, %d acknowledged writes lost on %d "
          "keys; lost slots seen by %d views" % (
              r.returncode, secs, wl["ops"], wl["acknowledged"], wl["lost_writes"],
              wl["lost_keys"], len(checks["lost_slots"]["observations"])))
    check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    # m1 acknowledged writes during the partition, then rejoined as a replica.
    check(wl["lost_writes"] > 0 and checks["lost_writes"]["status"] == "pass",
          "no lost write reported: %s" % wl)
    lost_keys = [o["what"] for o in checks["lost_writes"]["observations"]]
    check(all("slot" in k for k in lost_keys), lost_keys[:3])
    check(checks["convergence"]["status"] == "pass", checks["convergence"])
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_kill_restart_by_step_is_not_a_crash(ns):
    path = os.path.join(ns.tmp, "restart.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 1\n[timeline]\n0.5s = kill m3r1\n"
                "1.5s = restart m3r1\n2.0s = pause m2r1\n2.5s = resume m2r1\n"
                "3.0s = wait converged\n[check]\ncrashes = forbid\nconverge_within = 10s\n")
    r, secs = rift_run(path, os.path.join(ns.tmp, "report"))
    print("  kill, restart, pause, resume by steps: exit %d in %.1f s" % (r.returncode, secs))
    check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    check("crashes          pass   none" in r.stdout, r.stdout)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_a_server_dying_unasked_is_a_crash(ns):
    report = os.path.join(ns.tmp, "report")
    p = subprocess.Popen([RIFT, "run", os.path.join(SCN, "baseline.ini"), "--report", report],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(registered_pids()) >= 7, 30, "the run to start its shim")
    os.kill(registered_role("server:m3")[0], signal.SIGKILL)  # as nobody asked
    out, err = p.communicate(timeout=120)
    rep = json.load(open(os.path.join(report, "report.json")))
    crash = [c for c in rep["checks"] if c["name"] == "crashes"][0]
    print("  exit %d; crashes: %s" % (p.returncode, [o["what"] for o in crash["observations"]]))
    check(p.returncode == 1 and rep["verdict"] == "fail", "exit %d: %s" % (p.returncode, out))
    check(crash["status"] == "fail" and any("m3 exited (signal 9)" in o["what"]
                                            for o in crash["observations"]), crash)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


# RIFT_TEST_REPEAT=3: the heal matrix three times (the same verdicts each
# run); once in a plain make test, which has 20 minutes
REPEAT = int(os.environ.get("RIFT_TEST_REPEAT", "1"))


def test_client_heal_matrix_same_verdict_every_run(ns):
    verdicts = []
    for i in range(REPEAT):
        report = os.path.join(ns.tmp, "heal%d" % i)
        r, secs = rift_run(os.path.join(SCN, "client-slot-cache-heal.ini"), report)
        rep = json.load(open(os.path.join(report, "report.json")))
        clients = {c["name"]: c for c in rep["clients"]}
        row = {n: (c["healed"], c["heal_ms"], c["last_error"][:60]) for n, c in clients.items()}
        print("  run %d: exit %d in %.1f s: %s" % (i + 1, r.returncode, secs, row))
        check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
        check(clients["redis-py"]["version"] == "4.3.4", clients["redis-py"])
        check(clients["redis-py-6"]["version"] == "6.1.0", clients["redis-py-6"])
        check(clients["ioredis"]["version"] == "6.0.0", clients["ioredis"])
        check(clients["node-redis"]["version"] == "6.3.1", clients["node-redis"])
        check(clients["redis-py@sid"]["version"] == "6.4.0", clients["redis-py@sid"])
        check(clients["iovalkey"]["version"] == "0.4.0", clients["iovalkey"])
        check(clients["valkey-glide"]["version"] == "2.5.2", clients["valkey-glide"])
        verdicts.append(tuple(clients[n]["healed"] for n in
                              ("rift", "redis-py", "redis-py-6", "ioredis", "node-redis",
                               "redis-py@sid", "iovalkey", "valkey-glide")))
        check("SlotNotCoveredError" in clients["redis-py"]["last_error"], clients["redis-py"])
        check(clients["rift"]["heal_ms"] is not None and clients["rift"]["heal_ms"] < 5000,
              clients["rift"])
    check(verdicts == [(True, False, False, True, False, False, True, True)] * REPEAT,
          "healed per run (rift, redis-py, redis-py-6, ioredis, node-redis, redis-py@sid, "
          "iovalkey, valkey-glide): %s" % verdicts)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def matrix(ns, scenario, servers, runs=1):
    report = os.path.join(ns.tmp, "matrix-" + os.path.basename(scenario))
    r = subprocess.run([RIFT, "matrix", os.path.join(SCN, scenario), "--servers", servers,
                        "--runs", str(runs), "--report", report],
                       capture_output=True, text=True, timeout=600)
    print("  " + "\n  ".join(r.stdout.strip().splitlines()))
    check(r.returncode == 0, "matrix exit %d: %s" % (r.returncode, r.stderr[-3000:]))
    m = json.load(open(os.path.join(report, "matrix.json")))
    # matrix.html links every run's page, and each is there
    import xml.etree.ElementTree as ET
    page = ET.parse(os.path.join(report, "matrix.html")).getroot()
    links = [a.get("href") for a in page.iter("{http://www.w3.org/1999/xhtml}a")]
    want = ["%s-%d/report.html" % (s, i + 1) for s in servers.split(",") for i in range(runs)]
    check(links == want, "matrix.html links %s, want %s" % (links, want))
    for link in links:
        check(os.path.exists(os.path.join(report, link)), "%s missing" % link)
        if not os.path.exists(os.path.join(report, link.replace(".html", ".json"))):
            continue
        # a run that did not pass says what its nodes saw, and the views
        # of each observer around the moment, before any check fails
        rdir = os.path.join(report, os.path.dirname(link))
        rep = json.load(open(os.path.join(rdir, "report.json")))
        failing = m.setdefault("failing", {}).setdefault(link.split("-")[0], [])
        for c in rep["checks"]:
            failing += [(c["name"], o) for o in c["observations"] if c["status"] != "pass"]
            for o in c["observations"] if c["status"] != "pass" else []:
                print("  %s: %s: %s" % (link, c["name"], json.dumps(o)[:400]))
                with open(os.path.join(rdir, "views.jsonl")) as f:
                    for line in f:
                        v = json.loads(line)
                        if v["node"] == o["observer"] and abs(v["t_ms"] - o["first_ms"]) <= 300:
                            print("    %s" % json.dumps(v)[:2000])
    out = {s["server"]: s for s in m["servers"]}
    for server, obs in m.get("failing", {}).items():
        out[server]["failing"] = obs
    return out


def failover_transient(obs):
    """The one failure baseline.ini can show on Redis 8.0 and Valkey 8.1:
    m1's slots 0-5460 still on m1 in one observer's view for a sample or
    two after m1 became m1r1's replica (the failover at 1.0 s), until m1r1's
    own claim arrives; the same window test_pong_race_outcome_per_flavour
    holds open on Valkey. Anything else is not it."""
    return all(name == "lost_slots" and o.get("slots") == [[0, 5460]] and o["samples"] <= 2
               and 1000 <= o["first_ms"] <= 1500 for name, o in obs) and obs != []


def test_baseline_passes_on_redis8_and_valkey(ns):
    m = matrix(ns, "baseline.ini", "redis8,valkey")
    check(m["redis8"]["version"] == "8.0.2" and m["valkey"]["version"] == "8.1.1", m)
    for s in ("redis8", "valkey"):
        if m[s]["passed"] == 1:
            continue
        # valkey: 2 of 6 runs on 2026-12-07 (one in CI), redis8 once in
        # earlier CI: reported, not a pass, and nothing else may fail
        others = {k: c for k, c in m[s]["checks"].items() if k != "lost_slots" and c["passed"] != 1}
        check(m[s]["errors"] == 0 and not others and failover_transient(m[s].get("failing", [])),
              "%s: baseline did not pass: %s %s" % (s, m[s], m[s].get("failing")))
        print("  %s: the failover transient of 0-5460, %d sample(s): allowed, reported" %
              (s, max(o["samples"] for _, o in m[s]["failing"])))
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_pong_race_outcome_per_flavour(ns):
    m = matrix(ns, "failover-pong-race.ini", "redis,redis8,valkey")
    seen = {s: (m[s]["checks"]["cycles"]["seen"], m[s]["checks"]["lost_slots"]["seen"])
            for s in m}
    # Redis 7.0.15: the bug. Redis 8.0.2: fixed (redis/redis#13055). Valkey
    # 8.1.1: no cycle, but m2 keeps 0-5460 on m1 after m1 became a replica
    # until m1r1's own messages arrive: slots whose owner is not a primary.
    check(seen == {"redis": (1, 1), "redis8": (0, 0), "valkey": (0, 1)},
          "cycles/lost slots seen per server: %s" % seen)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def bus_messages(report):
    return [json.loads(l) for l in open(os.path.join(report, "bus.jsonl"))]


def test_single_message_drop_times_out_a_manual_failover(ns):
    report = os.path.join(ns.tmp, "report")
    r, secs = rift_run(os.path.join(SCN, "drop-auth-acks.ini"), report)
    rep = json.load(open(os.path.join(report, "report.json")))
    rule = rep["shim"]["rules"]["no-acks"]
    acks = [m for m in bus_messages(report)
            if m["type"] == "FAILOVER_AUTH_ACK" and m["to"].startswith("127.0.0.14:")]
    others = [m for m in bus_messages(report) if m["type"] != "FAILOVER_AUTH_ACK"]
    log = open(os.path.join(report, "m1r1.log")).read()
    views = [json.loads(l) for l in open(os.path.join(report, "views.jsonl"))]
    promoted = [v for v in views if "127.0.0.14:7000@17000 master" in v.get("nodes", "") or
                "127.0.0.14:7000@17000 myself,master" in v.get("nodes", "")]
    print("  exit %d in %.1f s: %d FAILOVER_AUTH_ACKs to m1r1 on the bus, %d dropped by "
          "rewrite; %d segments matched, %d passed; %d other messages; m1r1 %s" % (
              r.returncode, secs, len(acks), rule["dropped"], rule["matched"], rule["passed"],
              len(others), "timed out" if "Manual failover timed out" in log else "?"))
    check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    check(len(acks) >= 2 and rule["dropped"] == len(acks),
          "acks %d, dropped %d" % (len(acks), rule["dropped"]))
    check(rule["passed"] == rule["matched"], "a segment was not passed: %s" % rule)
    check("Manual failover timed out" in log, "m1r1's failover did not time out")
    check(promoted == [], "m1r1 became a primary in %d views" % len(promoted))
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_message_type_delay_holds_back_only_pongs(ns):
    path = os.path.join(ns.tmp, "pong-delay.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 0\n[fault slow-pongs]\nfrom = m2\nto = m1\n"
                "ports = bus\nmessages = PONG\ndelay = 300ms\n[timeline]\n0.2s = fault slow-pongs on\n"
                "4.0s = fault slow-pongs off\n[check]\nconverge_within = 10s\n")
    report = os.path.join(ns.tmp, "report")
    r, secs = rift_run(path, report)
    rep = json.load(open(os.path.join(report, "report.json")))
    rule = rep["shim"]["rules"]["slow-pongs"]
    events = [json.loads(l) for l in open(os.path.join(report, "shim.events.jsonl"))]
    delays = [e for e in events if e["rule"] == "slow-pongs" and e["decision"] == "delay"]
    held = [e["held_us"] for e in events if e["rule"] == "slow-pongs" and
            e["decision"] == "release"]
    pings = [m for m in bus_messages(report) if m["type"] == "PING" and
             m["from"].startswith("127.0.0.12:") and m["to"].startswith("127.0.0.11:")]
    print("  exit %d: %d segments matched, %d delayed (median held %.0f ms), %d passed; "
          "%d PINGs m2 -> m1 on the bus" % (r.returncode, rule["matched"], rule["delayed"],
                                             sorted(held)[len(held) // 2] / 1000 if held else 0,
                                             rule["passed"], len(pings)))
    check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    check(rule["delayed"] > 0 and rule["passed"] > 0, "rule %s" % rule)
    check(len(delays) == rule["delayed"], "events %d vs %d" % (len(delays), rule["delayed"]))
    check(held and 295000 <= sorted(held)[len(held) // 2] <= 320000, "held %s" % held[:5])
    check(len(pings) > 0, "no PING from m2 to m1 in the capture")
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())
