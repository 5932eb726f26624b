"""rift chaos and rift shrink end to end on Redis 7.0.15: a seeded 2-round
chaos run on the pong race family that finds the replication cycle, its
replay, a shrink of a shipped failing scenario with decoys, SIGINT, bad
SPECs, and what is left afterwards."""
import glob
import json
import os
import signal
import subprocess
import time

import lib
from lib import check, wait_for
from test_rift import rift_leftovers

RIFT = os.path.join(lib.ROOT, "bin", "rift")
CHAOS = os.path.join(lib.ROOT, "harness", "chaos")
SCN = os.path.join(lib.ROOT, "harness", "scenarios")
# Round 1 of seed 6793 draws a hold between m2 and m3r1 (both ways) from
# 0.5 s before a takeover by m3r1 to 3.4 s after it: the cycle of
# redis#13018 on Redis 7.0.15 (found in 6 of 6 runs; seed 10's shorter
# window of 1.7 s was found in 3 of 4). Round 2 passes: nothing is held
# around its failover.
SEED = "6793"


def dry_run(spec, seed, rounds):
    r = subprocess.run([RIFT, "chaos", spec, "--seed", str(seed), "--rounds", str(rounds),
                        "--dry-run"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "dry run of %s: %s" % (spec, r.stderr))
    return r.stdout


def test_every_shipped_spec_draws_rounds_that_rift_run_accepts(ns):
    del ns
    specs = sorted(glob.glob(os.path.join(CHAOS, "*.ini")))
    check(len(specs) >= 5, "shipped SPECs: %s" % specs)
    for spec in specs:
        a = dry_run(spec, 7, 3)
        check(a == dry_run(spec, 7, 3), "%s: the same seed drew another schedule" % spec)
        check(a != dry_run(spec, 8, 3), "%s: seeds 7 and 8 drew the same schedule" % spec)
        check(a.count("[timeline]") == 3 and a.count("wait converged") == 3, a)
        print("  %s: 3 rounds, %d faults, %d timeline lines" % (
            os.path.basename(spec), a.count("[fault "), a.count(" = fault ") +
            a.count(" = failover") + a.count(" = migrate") + a.count(" = kill") +
            a.count(" = pause")))


def test_chaos_two_rounds_find_the_pong_race_and_replay(ns):
    report = os.path.join(ns.tmp, "chaos")
    spec = os.path.join(CHAOS, "pong-race.ini")
    t = time.monotonic()
    r = subprocess.run([RIFT, "chaos", spec, "--seed", SEED, "--rounds", "2",
                        "--shrink-time", "0", "--report", report],
                       capture_output=True, text=True, timeout=300)
    secs = time.monotonic() - t
    print("  " + "\n  ".join(r.stderr.strip().splitlines()))
    check(r.returncode == 1, "exit %d (a finding is 1): %s" % (r.returncode, r.stderr[-3000:]))
    rounds = [l for l in r.stderr.splitlines() if l.startswith("round ")]
    check(len(rounds) == 2, "one line per round: %s" % rounds)
    check("FINDING: cycles, lost_slots" in rounds[0], rounds[0])
    check("rift chaos: 2 rounds in" in r.stderr and "1 finding" in r.stderr, r.stderr)
    doc = json.load(open(os.path.join(report, "chaos.json")))
    check(doc["seed"] == int(SEED) and doc["stopped"] == "rounds", doc)
    check(doc["server"].startswith("redis 7.0.15"), doc["server"])
    check([x["round"] for x in doc["rounds"]] == [1, 2], doc["rounds"])
    check(len(doc["findings"]) == 1 and doc["findings"][0]["round"] == 1, doc["findings"])
    f = doc["findings"][0]
    check(f["failed"] == "cycles, lost_slots" and f["shrink_check"] == "cycles", f)
    check("shrunk" not in f, "--shrink-time 0 shrinks nothing: %s" % f)
    fdir = f["dir"]
    check(os.path.isdir(fdir) and fdir.startswith(report), fdir)
    for name in ("report.json", "report.html", "scenario.ini", "junit.xml", "views.jsonl",
                 "shim.pcap"):
        check(os.path.exists(os.path.join(fdir, name)), "%s missing in %s" % (name, fdir))
    # the round that passed left nothing behind; the finding's report is rift run's
    check(sorted(os.listdir(report)) == ["chaos.html", "chaos.json", os.path.basename(fdir)],
          os.listdir(report))
    # chaos.html links the finding's own page, which is there
    import xml.etree.ElementTree as ET
    page = ET.parse(os.path.join(report, "chaos.html")).getroot()
    links = [a.get("href") for a in page.iter("{http://www.w3.org/1999/xhtml}a")]
    check(links == [os.path.basename(fdir) + "/report.html"], links)
    check(os.path.exists(os.path.join(report, links[0])), "%s missing" % links[0])
    rep = json.load(open(os.path.join(fdir, "report.json")))
    check(rep["verdict"] == "fail", rep["verdict"])
    # byte for byte the schedule --dry-run draws for round 1
    scenario = open(os.path.join(fdir, "scenario.ini")).read()
    drawn = dry_run(spec, SEED, 1)
    check(scenario == drawn, "scenario.ini differs from the dry run:\n%s\n---\n%s" %
          (scenario, drawn))
    check("seed = %d" % doc["rounds"][0]["seed"] in scenario, scenario)
    # replay: rift run on the round's file fails the same checks. The faults,
    # steps and shim seed are the round's; the servers' own random choices
    # (which node each pings, which nodes its gossip names, a 100 ms cron
    # started at a random phase) are not, so like rift shrink the test gives
    # the replay three tries and wants one that fails.
    outcomes = []
    for _ in range(3):
        rr = subprocess.run([RIFT, "run", os.path.join(fdir, "scenario.ini")],
                            capture_output=True, text=True, timeout=120)
        check(rr.returncode in (0, 1), "replay exit %d: %s" % (rr.returncode,
                                                               rr.stdout[-2000:]))
        check("seed %d" % doc["rounds"][0]["seed"] in rr.stdout, rr.stdout[:300])
        failed = [c for c in ("cycles", "lost_slots")
                  if any(l.startswith(c + " ") and " fail " in l
                         for l in rr.stdout.splitlines())]
        outcomes.append("exit %d %s" % (rr.returncode, ",".join(failed) or "pass"))
        if rr.returncode == 1 and failed == ["cycles", "lost_slots"]:
            break
    check(outcomes[-1] == "exit 1 cycles,lost_slots",
          "no replay of 3 failed cycles and lost_slots: %s" % outcomes)
    print("  2 rounds in %.0f s; replays: %s" % (secs, "; ".join(outcomes)))
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def du(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def test_findings_past_the_bound_keep_what_replays_them(ns):
    # --keep-findings 0: round 1's finding keeps its replay files and pages
    # only; --keep-rounds keeps round 2, which passes, whole.
    report = os.path.join(ns.tmp, "chaos")
    r = subprocess.run([RIFT, "chaos", os.path.join(CHAOS, "pong-race.ini"), "--seed", SEED,
                        "--rounds", "2", "--shrink-time", "0", "--keep-findings", "0",
                        "--keep-rounds", "--report", report],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr[-3000:]))
    doc = json.load(open(os.path.join(report, "chaos.json")))
    f = doc["findings"][0]
    kept = sorted(os.listdir(f["dir"]))
    check(kept == ["junit.xml", "report.html", "report.json", "scenario.ini", "shim.ini",
                   "summary.txt"], kept)
    check(f["trimmed_bytes"] > 100000 and "KB of captures, logs and views removed" in r.stderr,
          "%s %s" % (f, r.stderr[-2000:]))
    whole = os.path.join(report, "round-2")
    check(doc["rounds"][1]["verdict"] == "pass" and os.path.exists(
        os.path.join(whole, "shim.pcap")), os.listdir(report))
    print("  finding kept %d bytes (%d removed); the passing round kept whole: %d bytes" % (
        du(f["dir"]), f["trimmed_bytes"], du(whole)))
    rr = subprocess.run([RIFT, "run", os.path.join(f["dir"], "scenario.ini"), "--report",
                         os.path.join(ns.tmp, "again")], capture_output=True, text=True,
                        timeout=120)
    check(rr.returncode in (0, 1) and os.path.exists(os.path.join(ns.tmp, "again", "shim.pcap")),
          "replay exit %d: %s" % (rr.returncode, rr.stderr[-2000:]))
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_shrink_removes_the_decoy_fault_and_step(ns):
    out = os.path.join(ns.tmp, "shrunk.ini")
    t = time.monotonic()
    # one replay per candidate (the race fails every time): about 120 s
    r = subprocess.run([RIFT, "shrink", os.path.join(SCN, "pong-race-decoys.ini"), "--runs", "1",
                        "--shrink-time", "70s", "--final", "3", "--out", out],
                       capture_output=True, text=True, timeout=600)
    secs = time.monotonic() - t
    print("  " + "\n  ".join(r.stderr.strip().splitlines()[-8:]))
    check(r.returncode == 1, "exit %d (1: a failing schedule written): %s" %
          (r.returncode, r.stderr[-3000:]))
    text = open(out).read()
    print("  " + "\n  ".join(l for l in text.splitlines() if not l.startswith(";")))
    check("decoy-delay" not in text, "the decoy fault is still there:\n" + text)
    check("pause m3r1" not in text and "resume m3r1" not in text,
          "the decoy step is still there:\n" + text)
    check("[fault a-to-c]" in text and "failover m1r1" in text, text)
    check("cycles = present" in text, text)
    final = [l for l in r.stderr.splitlines() if l.startswith("rift shrink: ") and
             "replays" in l and "candidates" in l]
    check(final, r.stderr[-2000:])
    n = int(final[-1].split("failed in ")[1].split(" of ")[0])
    check(n >= 2 and "of 3 replays" in final[-1],
          "the shrunk scenario failed in only %d of 3 replays: %s" % (n, final[-1]))
    # what it wrote is a scenario rift run takes: exit 0, the [expect]ed cycle seen
    rr = subprocess.run([RIFT, "run", out], capture_output=True, text=True, timeout=120)
    check(rr.returncode == 0, "rift run shrunk.ini: exit %d %s" % (rr.returncode,
                                                                  rr.stdout[-2000:]))
    print("  shrunk in %.0f s" % secs)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_chaos_sigint_writes_what_it_found_and_leaves_nothing(ns):
    del ns
    spec = os.path.join(CHAOS, "pong-race.ini")
    p = subprocess.Popen([RIFT, "chaos", spec, "--seed", "3", "--rounds", "5"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: glob.glob("/run/rift/runs/*"), 30, "round 1 to start")
    own = glob.glob("/tmp/rift-chaos-*")
    check(len(own) == 1, "its own temp dir: %s" % own)
    time.sleep(4)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=90)
    check(p.returncode == 130, "exit %d: %s" % (p.returncode, err[-2000:]))
    check("(interrupted)" in err and "rift chaos: 1 round in" in err, err[-2000:])
    check(not os.path.exists(own[0]), "temp dir left: %s" % own)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_bad_spec_is_exit_2_with_file_line(ns):
    bad = os.path.join(ns.tmp, "bad.ini")
    with open(bad, "w") as f:
        f.write("[cluster]\nmasters = 3\n[chaos]\nround = 10s\nnemeses = hold-pair, meteor\n")
    r = subprocess.run([RIFT, "chaos", bad, "--rounds", "1"], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 2 and r.stderr.startswith(bad + ":5: nemeses: unknown nemesis"),
          "exit %d: %s" % (r.returncode, r.stderr))
    with open(bad, "w") as f:
        f.write("[cluster]\nmasters = 3\n[timeline]\n1s = failover m1r1\n")
    r = subprocess.run([RIFT, "chaos", bad, "--rounds", "1"], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 2 and r.stderr.startswith(bad + ":3: [timeline] in a chaos SPEC"),
          "exit %d: %s" % (r.returncode, r.stderr))
    r = subprocess.run([RIFT, "shrink", os.path.join(SCN, "baseline.ini"), "--check", "meteor"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "--check: expected" in r.stderr, r.stderr)
    print("  " + r.stderr.strip())
    check(rift_leftovers() == [] and not glob.glob("/tmp/rift-chaos-*"),
          "left behind: %s" % rift_leftovers())


def test_sigkill_of_rift_chaos_then_cleanup_leaves_nothing(ns):
    del ns
    spec = os.path.join(CHAOS, "pong-race.ini")
    p = subprocess.Popen([RIFT, "chaos", spec, "--seed", "3", "--rounds", "3"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: len(glob.glob("/run/rift/runs/*")) == 1 and
             glob.glob("/tmp/rift-chaos-*"), 30, "round 1 to start")
    time.sleep(5)
    p.kill()
    p.wait()
    before = rift_leftovers()
    check(any(x.startswith("/tmp/rift-chaos-") for x in before) and
          any(x.startswith("/run/rift/runs/") for x in before), "nothing to clean? %s" % before)
    r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True, timeout=60)
    print("  " + "\n  ".join(r.stdout.strip().splitlines()))
    check(r.returncode == 0 and "its rift chaos or shrink is gone" in r.stdout, r.stdout)
    time.sleep(0.2)
    check(rift_leftovers() == [], "left after cleanup: %s" % rift_leftovers())
