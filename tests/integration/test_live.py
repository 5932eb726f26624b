"""rift up / ctl / down: a run a test suite drives. The Python client's
own pytest suite (tests/live/python) against real clusters; every request
kind and what a bad one gets; a caller SIGKILLed leaves nothing once the
grace time is over."""
import json
import os
import signal
import socket
import statistics
import subprocess
import time

import lib
import test_rift
from lib import check

RIFT = os.path.join(lib.ROOT, "bin", "rift")
LIVE = os.path.join(lib.ROOT, "tests", "live")


def up(scn, *args):
    t = time.monotonic()
    r = subprocess.run([RIFT, "up", os.path.join(LIVE, scn)] + list(args), capture_output=True,
                       text=True, timeout=120)
    secs = time.monotonic() - t
    check(r.returncode == 0, "rift up: exit %d %s" % (r.returncode, r.stderr[-3000:]))
    lines = r.stdout.strip().splitlines()
    check(len(lines) == 1, "rift up printed %r" % r.stdout)
    return json.loads(lines[0]), secs, r.stderr


def ctl(sock, *words):
    r = subprocess.run([RIFT, "ctl", sock] + list(words), capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def test_python_suite_drives_two_clusters_through_its_tests(ns):
    env = dict(os.environ, PYTHONPATH=os.path.join(lib.ROOT, "clients", "python"),
               PATH=os.path.join(lib.ROOT, "bin") + ":" + os.environ["PATH"])
    t = time.monotonic()
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--basetemp", os.path.join(ns.tmp, "pytest"),
                        os.path.join(LIVE, "python")], capture_output=True, text=True, env=env,
                       cwd=os.path.join(LIVE, "python"), timeout=600)
    secs = time.monotonic() - t
    print("  " + "\n  ".join(r.stdout.strip().splitlines()[-8:]))
    check(r.returncode == 0, "pytest: exit %d\n%s%s" % (r.returncode, r.stdout[-4000:],
                                                      r.stderr[-2000:]))
    check("3 passed" in r.stdout, r.stdout[-2000:])
    summary = [l for l in r.stdout.splitlines() if ": run " in l and "report" in l]
    check(len(summary) == 2 and any("test_service: run" in l and ": pass (exit 0)" in l
                                    for l in summary) and
          any("test_pong_race: run" in l and ": fail (exit 1)" in l for l in summary),
          "the rift section: %s" % summary)
    print("  pytest: %.1f s" % secs)
    check(test_rift.rift_leftovers() == [], "left behind: %s" % test_rift.rift_leftovers())


def test_every_request_and_what_a_bad_one_gets(ns):
    report = os.path.join(ns.tmp, "report")
    os.makedirs(report, mode=0o700)
    info, up_secs, progress = up("hold-failover.ini", "--report", report, "--grace", "60s")
    sock = info["socket"]
    check([n["name"] for n in info["nodes"]] == ["m1", "m2", "m3", "m1r1", "m2r1", "m3r1"],
          info["nodes"])
    check(info["seeds"] == "127.0.0.11:7000,127.0.0.12:7000,127.0.0.13:7000", info["seeds"])
    check("up: serving" in progress or "cluster ready" in progress, progress[-500:])
    # the round trip of a request: ping over one connection
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rwb")
    rtt = []
    for _ in range(200):
        t = time.perf_counter()
        f.write(b"ping\n")
        f.flush()
        line = f.readline()
        rtt.append((time.perf_counter() - t) * 1e6)
        check(line == b"ok pong\n", line)
    s.close()
    rtt.sort()
    print("  rift up: ready in %.2f s; ping round trip: median %.0f us, p99 %.0f us, max %.0f us"
          % (up_secs, statistics.median(rtt), rtt[197], rtt[-1]))
    bad = [
        (["failover", "m9"], "error: "),
        (["kill"], "error: "),
        (["fault", "nosuch", "on"], "error: "),
        (["fault", "hold-m3", "maybe"], "error: "),
        (["set", "nosuch", "delay", "5ms"], "error: set: no fault named nosuch"),
        (["set", "slow-m2"], "error: set: expected set FAULT KEY VALUE"),
        (["wait", "converged", "3x"], "error: wait converged: \"3x\" is not a duration"),
        (["migrate", "0-99", "m1"], "error: "),
        (["frobnicate"], "error: unknown request 'frobnicate'"),
        (["mark"], "error: mark: expected mark TEXT"),
    ]
    for words, want in bad:
        rc, out, err = ctl(sock, *words)
        check(rc == 2 and out.startswith(want), "%s: exit %d %r %r" % (words, rc, out, err))
        print("  %-28s %s" % (" ".join(words), out[:110]))
    # nothing of them ran: every node still a primary or replica as built
    views = json.loads(ctl(sock, "views")[1][3:])["views"]
    m1 = next(v["view"] for v in views if v["name"] == "m1")
    roles = sorted(n["role"] for n in m1["nodes"])
    check(roles == ["primary"] * 3 + ["replica"] * 3, roles)
    good = [
        (["mark", "phase", "one"], 0, "ok mark phase one"),
        (["fault", "slow-m2", "on"], 0, "ok fault slow-m2 on"),
        (["set", "slow-m2", "delay", "5ms"], 0, "ok set slow-m2 delay 5ms"),
        (["fault", "slow-m2", "off"], 0, "ok fault slow-m2 off"),
        (["failover", "m2r1"], 0, "ok failover m2r1"),
        (["wait", "converged", "20s"], 0, "ok converged after "),
        (["pause", "m3r1"], 0, "ok pause m3r1"),
        (["resume", "m3r1"], 0, "ok resume m3r1"),
        (["migrate", "0-99", "m1", "m3"], 0, "ok migrate 0-99 m1 m3"),
        (["wait", "converged", "30s"], 0, "ok converged after "),
        (["checks"], 0, "ok {"),
    ]
    for words, want_rc, want in good:
        rc, out, err = ctl(sock, *words)
        check(rc == want_rc and out.startswith(want), "%s: exit %d %r %r" % (words, rc, out, err))
        print("  %-28s %s" % (" ".join(words), out[:110]))
    checks = {c["name"]: c for c in json.loads(ctl(sock, "checks")[1][3:])["checks"]}
    check(checks["cycles"]["status"] == "pass" and checks["lost_writes"]["status"] == "pending",
          checks)
    r = subprocess.run([RIFT, "down", sock], capture_output=True, text=True, timeout=120)
    print("  rift down: exit %d; %s" % (r.returncode, r.stdout.strip().splitlines()[0]))
    check(r.returncode == 0 and "verdict: pass" in r.stdout,
          "rift down: exit %d %s %s" % (r.returncode, r.stdout, r.stderr))
    rep = json.load(open(os.path.join(report, "report.json")))
    steps = [s["step"] for s in rep["steps"]]
    check(steps[0] == "mark phase one" and "failover m2r1" in steps and
          "migrate 0-99 m1 m3 (started)" in steps and len(steps) == 10, steps)
    check(not os.path.exists(sock), "the socket is still there")
    check(test_rift.rift_leftovers() == [], "left behind: %s" % test_rift.rift_leftovers())


def test_a_caller_killed_leaves_nothing_after_the_grace_time(ns):
    del ns
    info, _, _ = up("pong-race.ini", "--grace", "3s")
    holder = subprocess.Popen(["/usr/bin/python3", "-c",
                               "import socket,sys,time; s=socket.socket(socket.AF_UNIX); "
                               "s.connect(sys.argv[1]); s.sendall(b'ping\\n'); s.recv(64); "
                               "time.sleep(600)", info["socket"]])
    time.sleep(5)  # past the grace time: the connection keeps it up
    check(test_rift.rift_leftovers() != [], "the run ended while a client was connected")
    t = time.monotonic()
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    lib.wait_for(lambda: test_rift.rift_leftovers() == [], 60, "the run to go down by itself")
    print("  gone %.1f s after its last client was killed (grace 3 s, then rift run's end)" %
          (time.monotonic() - t))
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    check(info["netns"] not in netns, netns)


def node_suite(ns, scn, test_file):
    report = os.path.join(ns.tmp, os.path.basename(test_file))
    t = time.monotonic()
    r = subprocess.run([RIFT, "run", os.path.join(LIVE, scn), "--report", report, "--", "node",
                        "--test", os.path.join(LIVE, "node", test_file)], capture_output=True,
                       text=True, timeout=300)
    secs = time.monotonic() - t
    rep = json.load(open(os.path.join(report, "report.json")))
    checks = {c["name"]: c["status"] for c in rep["checks"]}
    applog = open(os.path.join(report, "app.log")).read()
    print("  %s: exit %d in %.1f s; %s; node: %s" % (test_file, r.returncode, secs, checks,
          " ".join(l.strip() for l in applog.splitlines() if l.startswith("# pass") or
                   l.startswith("# fail"))))
    return r, checks, applog


def test_node_suites_drive_the_run_they_are_the_program_of(ns):
    r, checks, log = node_suite(ns, "hold-failover.ini", "service.test.js")
    check(r.returncode == 0 and checks.get("app") == "pass" and checks["lost_writes"] == "pass",
          "exit %d %s\n%s\n%s" % (r.returncode, checks, r.stdout[-2000:], log[-3000:]))
    check("# pass 1" in log and "# fail 0" in log, log[-2000:])
    r, checks, log = node_suite(ns, "pong-race.ini", "pong-race.test.js")
    check(r.returncode == 1 and checks.get("app") == "pass" and checks["cycles"] == "fail",
          "exit %d %s\n%s\n%s" % (r.returncode, checks, r.stdout[-2000:], log[-3000:]))
    check("# pass 1" in log, log[-2000:])
    check(test_rift.rift_leftovers() == [], "left behind: %s" % test_rift.rift_leftovers())


def test_a_failing_test_names_the_report_and_the_summary_the_verdict(ns):
    env = dict(os.environ, PYTHONPATH=os.path.join(lib.ROOT, "clients", "python"),
               PATH=os.path.join(lib.ROOT, "bin") + ":" + os.environ["PATH"])
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--basetemp", os.path.join(ns.tmp, "pytest"),
                        os.path.join(LIVE, "python-failing")], capture_output=True, text=True,
                       env=env, cwd=os.path.join(LIVE, "python-failing"), timeout=300)
    out = r.stdout
    section = [l for l in out.splitlines() if l.startswith("run ") and "report in" in l]
    print("  " + (section[0] if section else "no rift section"))
    check(r.returncode == 1 and "1 failed" in out, "pytest: exit %d %s" % (r.returncode,
                                                                         out[-3000:]))
    check(len(section) == 1, "the failure names no report folder:\n" + out[-3000:])
    report = section[0].split("report in ")[1].strip()
    check(os.path.exists(os.path.join(report, "report.json")), "no report.json in %s" % report)
    check("test_fails: run " in out and ": pass (exit 0), report " + report in out,
          out[-2000:])
    check(test_rift.rift_leftovers() == [], "left behind: %s" % test_rift.rift_leftovers())


def test_a_killed_rift_up_is_cleaned_by_rift_cleanup(ns):
    del ns
    info, _, _ = up("pong-race.ini", "--grace", "600s")
    check(os.path.exists("/proc/%d" % info["pid"]), "pid %d is not running" % info["pid"])
    os.kill(info["pid"], signal.SIGKILL)  # the run's own process, from its ready line
    lib.wait_for(lambda: not os.path.exists("/proc/%d" % info["pid"]), 10, "it to die")
    check(test_rift.rift_leftovers() != [], "nothing was left to clean")
    r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True, timeout=60)
    print("  " + r.stdout.strip().splitlines()[0])
    check(r.returncode == 0 and "1 run cleaned" in r.stdout, r.stdout + r.stderr)
    check(test_rift.rift_leftovers() == [], "left behind: %s" % test_rift.rift_leftovers())
