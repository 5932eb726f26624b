"""What rift promises its callers: it never signals anything it did not
start (a step on a node that is down is skipped, never kill(0)), its own
trouble (a missing library or server, a probe that dies) is an error with
exit status 2 and never a finding, and `rift cleanup` after SIGKILL stops
every process a run started, probes included."""
import json
import os
import shutil
import signal
import subprocess
import time

import lib
from lib import check, wait_for
from test_rift import RIFT, SCN, registered, rift_leftovers, rift_run


def proc_state(pid):
    """The one-letter state of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def live(pids):
    return [p for p in pids if proc_state(p) not in (None, "Z", "X")]


def test_steps_on_a_down_node_are_skipped_not_signalled(ns):
    # kill m3, then pause, resume, kill and fail over the dead node: with a
    # recorded PID of 0 these became kill(0, ...), which stops or kills
    # rift's whole process group. rift runs here in a group of its own with
    # a sentinel process: the sentinel must outlive the run, never stopped.
    path = os.path.join(ns.tmp, "down.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 1\n[server]\n"
                "cluster-require-full-coverage = no\n[timeline]\n"
                "0.5s = kill m3r1\n1.0s = pause m3r1\n1.2s = resume m3r1\n1.4s = kill m3r1\n"
                "1.6s = failover m3r1\n2.0s = restart m3r1\n2.5s = pause m2r1\n"
                "2.6s = kill m2r1\n2.8s = resume m2r1\n3.0s = restart m2r1\n"
                "3.5s = wait converged\n[check]\nconverge_within = 15s\n")
    report = os.path.join(ns.tmp, "report")
    sentinel_file = os.path.join(ns.tmp, "sentinel.pid")
    p = subprocess.Popen(["sh", "-c", 'sleep 300 >/dev/null 2>&1 & echo $! > "$1"; shift; exec "$@"', "sh",
                          sentinel_file, RIFT, "run", path, "--report", report],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=60)
    finally:
        sentinel = int(open(sentinel_file).read())
        state = proc_state(sentinel)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    rep = json.load(open(os.path.join(report, "report.json")))
    steps = [(s["step"], s["status"], s.get("reason", "")) for s in rep["steps"]]
    skipped = [s for s in steps if s[1] == "skipped"]
    print("  exit %d; sentinel in rift's group: %s; skipped: %s" % (
        p.returncode, state, ["%s (%s)" % (s[0], s[2]) for s in skipped]))
    check(state == "S", "rift's process group was signalled: sentinel state %s" % state)
    check(p.returncode == 0, "exit %d:\n%s\n%s" % (p.returncode, out, err[-3000:]))
    check([s[0] for s in skipped] == ["pause m3r1", "resume m3r1", "kill m3r1", "failover m3r1",
                                      "resume m2r1"], "skipped %s" % skipped)
    check(all("m3r1 is not running (killed by the step at 0.5" in s[2] for s in skipped[:4]),
          skipped)
    check("m2r1 is not running (killed by the step at 2.6" in skipped[4][2], skipped)
    check([s[1] for s in steps].count("done") == 6, steps)
    check(any("pause m3r1: skipped: m3r1 is not running" in t for t in rep["timeline"]),
          rep["timeline"])
    check("step 1.0" in out and "pause m3r1: skipped: m3r1 is not running" in out, out)
    crash = [c for c in rep["checks"] if c["name"] == "crashes"][0]
    check(crash["status"] == "pass", crash)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_sigkill_then_cleanup_stops_the_probes_too(ns):
    # The probes are python3, node and rift-probe processes: cleanup must
    # stop them by registered PID and start time, not by program name.
    p = subprocess.Popen([RIFT, "run", os.path.join(SCN, "baseline.ini")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len([r for r in registered() if r[2].startswith("probe:")]) == 5, 60,
             "the five probes to start")
    procs = registered()
    p.kill()
    p.wait()
    probes = [pid for pid, _, role in procs if role.startswith("probe:")]
    names = sorted(open("/proc/%d/comm" % x).read().strip() for x in live(probes))
    check(len(live(probes)) == 5, "probes not running after the kill: %s" % procs)
    r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True)
    print("  probes %s; %s" % (names, r.stdout.strip().splitlines()[0]))
    check(r.returncode == 0, r.stderr)
    check("stopped %d processes" % len(procs) in r.stdout, r.stdout)
    check(live([pid for pid, _, _ in procs]) == [], "still running: %s" %
          live([pid for pid, _, _ in procs]))
    check(rift_leftovers() == [], "left after cleanup: %s" % rift_leftovers())


def test_cleanup_never_signals_a_reused_pid(ns):
    # A registry entry whose PID now belongs to another process (a start
    # time that does not match) must be left alone.
    victim = subprocess.Popen(["sleep", "60"])
    run = "/run/rift/runs/fake%d" % os.getpid()
    try:
        os.makedirs(run)
        with open(run + "/pids", "w") as f:
            f.write("%d 12345 server:m1\n" % victim.pid)
        with open(run + "/owner", "w") as f:
            f.write("999999 1\n")
        r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True)
        print("  " + r.stdout.strip().splitlines()[0])
        check(r.returncode == 0 and "stopped 0 processes" in r.stdout, r.stdout + r.stderr)
        check(victim.poll() is None, "cleanup killed an unrelated process")
        check(not os.path.exists(run), "registry entry left")
    finally:
        victim.kill()
        victim.wait()
        shutil.rmtree(run, ignore_errors=True)


def test_cleanup_leaves_a_running_run_alone(ns):
    p = subprocess.Popen([RIFT, "run", os.path.join(SCN, "baseline.ini")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(registered()) >= 6, 30, "the servers to start")
        r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True)
        print("  " + r.stdout.strip().splitlines()[0])
        check("still running" in r.stdout and "left alone" in r.stdout, r.stdout)
        check(len(live([x for x, _, _ in registered()])) >= 6, "cleanup stopped a live run")
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(60)
    check(p.returncode == 130, "exit %d" % p.returncode)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def bare_install(ns):
    """A copy of the programs without the fetched clients and servers: what
    a user has after a plain build of bins only."""
    root = os.path.join(ns.tmp, "bare")
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "harness", "clients"))
    for b in ("rift", "rift-shim", "rift-probe"):
        shutil.copy(os.path.join(lib.ROOT, "bin", b), os.path.join(root, "bin", b))
    for f in ("node_probe.js", "redis_py_probe.py"):
        shutil.copy(os.path.join(lib.ROOT, "harness", "clients", f),
                    os.path.join(root, "harness", "clients", f))
    return os.path.join(root, "bin", "rift")


def test_missing_probe_library_and_server_are_errors_naming_the_target(ns):
    rift = bare_install(ns)
    path = os.path.join(ns.tmp, "io.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 0\n[clients]\nprobes = rift, ioredis, "
                "redis-py-6\n[timeline]\n1s = wait converged\n")
    t = time.monotonic()
    r = subprocess.run([rift, "run", path, "--server", "valkey"], capture_output=True,
                       text=True, timeout=60)
    secs = time.monotonic() - t
    print("  exit %d in %.2f s: %s" % (r.returncode, secs, r.stderr.strip()))
    check(r.returncode == 2, "exit %d" % r.returncode)
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1 and lines[0].startswith("rift: missing: "), r.stderr)
    for want in ("server valkey", "run `make servers`", "npm package ioredis for probe ioredis",
                 "redis-py 6.1 for probe redis-py-6", "run `make clients`"):
        check(want in lines[0], "%r not in %r" % (want, lines[0]))
    check("rift-probe" not in lines[0], "rift-probe is there: " + lines[0])
    check("never healed" not in r.stdout + r.stderr, r.stdout)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_a_probe_that_dies_is_an_error_not_never_healed(ns):
    report = os.path.join(ns.tmp, "report")
    p = subprocess.Popen([RIFT, "run", os.path.join(SCN, "baseline.ini"), "--report", report],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: [x for x, _, role in registered() if role == "probe:ioredis"], 60,
             "the ioredis probe to start")
    time.sleep(0.5)
    os.kill([x for x, _, role in registered() if role == "probe:ioredis"][0], signal.SIGKILL)
    out, err = p.communicate(timeout=120)
    rep = json.load(open(os.path.join(report, "report.json")))
    print("  exit %d; verdict %s; %s" % (p.returncode, rep["verdict"], rep.get("error")))
    check(p.returncode == 2, "exit %d: %s" % (p.returncode, err[-2000:]))
    check(rep["verdict"] == "error", rep["verdict"])
    check("probe ioredis exited on its own (signal 9)" in rep.get("error", ""), rep)
    check("probe ioredis exited on its own (signal 9)" in err, err[-2000:])
    check("never healed" not in out + err, out)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())
