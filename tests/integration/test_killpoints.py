"""Kill anywhere: `rift run` gets SIGKILL at seeded random moments spread
over cluster start, the timeline (probes, a migration and the workload
running) and the report, and after each `rift cleanup` must leave no
namespace, registry entry, temp dir or live process of that run. rift-shim
killed under load: traffic keeps flowing (bypass) and --cleanup removes its
chain. RIFT_KILL_POINTS=20 for the long run (CI runs 5)."""
import glob
import os
import random
import select
import signal
import subprocess
import threading
import time

import lib
from lib import CLIENT, Redis, Shim, check, median, ping_rtts, sha
from test_rift import RIFT, rift_leftovers

SCENARIO = """[cluster]
masters = 3
replicas = 1
[fault slow-clients]
from = clients
to = m1, m2
ports = client
delay = 2ms
[timeline]
0.2s = fault slow-clients on
0.8s = migrate 0-199 m1 m2
1.5s = failover m1r1
2.5s = fault slow-clients off
3.0s = wait converged
[workload]
writers = 2
[clients]
probes = rift, redis-py, ioredis
start = 0.3s
[check]
converge_within = 15s
"""

# Where a kill lands: after the progress line that starts with the marker
# (or after the start, for None), plus a random delay up to max_ms.
PHASES = [
    (None, 2500, "cluster start"),
    ("cluster ready", 400, "shim start"),
    ("client probes started", 1500, "timeline with probes"),
    ("step migrate", 800, "migration"),
    ("step fault slow-clients off", 1500, "settling"),
    ("client rift", 300, "probe verdicts and read-back"),
    ("bus timeline", 60, "report writing"),
]


def descendants(root):
    """PIDs (with start times) of every process below root."""
    kids = {}
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            kids.setdefault(int(fields[1]), []).append((int(d[6:]), int(fields[19])))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        for pid, start in kids.get(todo.pop(), []):
            out.append((pid, start))
            todo.append(pid)
    return out


def still_running(procs):
    left = []
    for pid, start in procs:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[19]) == start and fields[0] not in ("Z", "X"):
            try:
                comm = open("/proc/%d/comm" % pid).read().strip()
            except OSError:
                comm = "?"
            left.append("%d (%s)" % (pid, comm))
    return left


def kill_at(scn, marker, delay_ms):
    """Run the scenario, SIGKILL rift delay_ms after the marker line; returns
    the processes below rift at that moment and the last progress line."""
    p = subprocess.Popen([RIFT, "run", scn], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, bufsize=1)
    last, deadline = "", time.monotonic() + 90
    if marker is not None:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([p.stderr], [], [], 1)
            if not ready:
                continue
            line = p.stderr.readline()
            if not line:
                break  # the run ended before the marker
            last = line.strip()
            if "] " + marker in line:
                break
    time.sleep(delay_ms / 1000.0)
    # Stop it first so that nothing new starts while we look.
    try:
        os.kill(p.pid, signal.SIGSTOP)
    except ProcessLookupError:
        pass
    procs = descendants(p.pid)
    p.kill()
    p.wait()
    p.stderr.close()
    return procs, last


def test_sigkill_anywhere_then_cleanup_leaves_nothing(ns):
    points = int(os.environ.get("RIFT_KILL_POINTS", "5"))
    seed = int(os.environ.get("RIFT_KILL_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    scn = os.path.join(ns.tmp, "kill.ini")
    with open(scn, "w") as f:
        f.write(SCENARIO)
    print("  seed %d, %d kill points" % (seed, points))
    # Spread the points over the phases, then draw each moment.
    plan = [PHASES[i % len(PHASES)] for i in range(points)]
    results = []
    for i, (marker, max_ms, phase) in enumerate(plan):
        delay = rng.randint(0, max_ms)
        procs, last = kill_at(scn, marker, delay)
        before = rift_leftovers()
        r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, r.stderr)
        # Tools rift runs for a moment (ip, rm, cp, iptables-restore) finish
        # on their own; the servers, shim and probes must be stopped.
        end = time.monotonic() + 3
        while still_running(procs) and time.monotonic() < end:
            time.sleep(0.05)
        alive = still_running(procs)
        left = rift_leftovers()
        results.append((phase, delay, len(procs), len(before), alive, left))
        print("  %2d. %-28s +%4d ms: %2d processes below rift, %d leftovers before cleanup; "
              "after: %d running, %d left   (last: %s)" % (
                  i + 1, phase, delay, len(procs), len(before), len(alive), len(left),
                  last[:60]))
        check(alive == [], "kill %d (%s +%d ms): still running after cleanup: %s" % (
            i + 1, phase, delay, alive))
        check(left == [], "kill %d (%s +%d ms): left after cleanup: %s" % (
            i + 1, phase, delay, left))
    # Most kills must have hit a run that had left something to clean up
    # (one at +0 ms of cluster start may come before the run registered).
    hits = sum(1 for r in results if r[3] > 0)
    print("  %d of %d kills hit a run with something to clean up; all %d cleaned" % (
        hits, points, points))
    check(hits >= points * 4 // 5, "only %d of %d kills hit a run: %s" % (hits, points,
                                                                         results))


def test_shim_sigkill_under_load_keeps_traffic_flowing(ns):
    r = Redis(ns)
    c = r.connect(CLIENT)
    payload = os.urandom(16 << 20)
    shim = Shim(ns, "[rule f]\nfrom = cl\nto = r1\nports = client\ndelay = 5ms\njitter = 2ms\n")
    result = {}

    def big_set():
        try:
            c.settimeout(60)
            result["set"] = c.command("SET", "big", payload)
        except Exception as e:  # reported below
            result["err"] = repr(e)

    t = threading.Thread(target=big_set)
    t.start()
    lib.wait_for(lambda: shim.stats()["rules"]["f"]["delayed"] > 200, 20, "delayed segments")
    st = shim.stats()
    shim.proc.kill()  # SIGKILL with packets held in the queue
    shim.proc.wait()
    t.join(60)
    check(result.get("set") == "OK", "the SET did not complete after SIGKILL: %s" % result)
    c2 = r.connect(lib.ADMIN)
    got = c2.command("GET", "big")
    check(sha(got) == sha(payload), "the value changed")
    m = median(ping_rtts(c, 10))
    check(m < 5, "traffic after SIGKILL takes %.1f ms" % m)
    rules = ns.iptables_rift()
    r2 = ns.run([lib.SHIM, "--cleanup"])
    print("  SIGKILL with %d segments delayed so far, %d held: the 16 MiB SET completed "
          "(sha256 equal), PING %.3f ms after; %d iptables lines, --cleanup: %s" % (
              st["rules"]["f"]["delayed"], st["rules"]["f"]["held_now"], m, len(rules),
              r2.stderr.strip()))
    check(r2.returncode == 0 and "removed 1 rift chain" in r2.stderr, r2.stderr)
    check(ns.iptables_rift() == [], "left after --cleanup: %s" % ns.iptables_rift())
