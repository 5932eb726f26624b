"""rift run --hosts: the pong race with its 6 nodes over three "hosts"
(network namespaces with their own addresses and sshd, hostsdemo.py),
reached through SSH only: the harness (in a namespace of its own on the
same bridge) never enters them; no address is added outside the test's
namespaces. The cycle and the
lost slots are seen as on one host, the report has every host's logs and
captures, and nothing is left on any host; a run killed mid-way is cleaned
by `rift cleanup --hosts`, which keeps the run while a host does not
answer."""
import json
import os
import signal
import subprocess
import time

import hostsdemo
import lib
from lib import check

RIFT = os.path.join(lib.ROOT, "bin", "rift")
SCN = os.path.join(lib.ROOT, "harness", "scenarios")


def remote_dirs(h):
    """rift- folders in the hosts' tmp folders."""
    left = []
    for k in range(h.n):
        tmp = os.path.join(h.tmp, "h%d-tmp" % (k + 1))
        if os.path.isdir(tmp):
            left += [os.path.join(tmp, d) for d in os.listdir(tmp) if d.startswith("rift-")]
    return left


PASSWORD = "hosts-Pw.1234"


def auth_check_over_hosts(h, stderr_lines):
    """While the run is up: every node, reached from the harness's host
    without the password, refuses (auth_check.py); the password works."""
    place = [l for l in stderr_lines if "placement: " in l]
    check(place, "no placement line in %s" % stderr_lines)
    nodes = ",".join(x.split(" ")[0] for x in place[0].split("placement: ")[1].split(", "))
    env = dict(os.environ, RIFT_NODES=nodes, RIFT_PASSWORD=PASSWORD,
               RIFT_URL="redis://:%s@x" % PASSWORD)
    a = subprocess.run(h.run_argv(["/usr/bin/python3",
                                   os.path.join(lib.ROOT, "tests/integration/apps/auth_check.py")]),
                       capture_output=True, text=True, timeout=60, env=env)
    check(a.returncode == 0, "auth check over hosts: exit %d\n%s%s" % (a.returncode, a.stdout,
                                                                      a.stderr))
    got = json.loads(a.stdout)
    check(len(got["refused"]) == 6, got)
    # every ssh of the run forwards no agent and no X11
    ssh = []
    for pid in os.listdir("/proc"):
        try:
            argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"ssh" and h.ssh_config.encode() in argv:
            ssh.append(argv)
    check(ssh and all(b"ForwardAgent=no" in a and b"ForwardX11=no" in a for a in ssh),
          "ssh command lines: %s" % ssh)
    got["ssh"] = len(ssh)
    return got


def test_pong_race_over_three_hosts_via_ssh(ns):
    h = hostsdemo.Hosts(tag=str(os.getpid())[-4:] + "a")
    try:
        hosts = h.hosts_ini()
        report = os.path.join(ns.tmp, "race")
        scn = os.path.join(ns.tmp, "race.ini")
        with open(scn, "w") as f:
            f.write(open(os.path.join(SCN, "failover-pong-race.ini")).read().replace(
                "[cluster]\n", "[cluster]\npassword = %s\n" % PASSWORD, 1))
        t = time.monotonic()
        p = subprocess.Popen(h.run_argv([RIFT, "run", scn, "--hosts", hosts, "--report", report]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        while not any("cluster ready" in l for l in lines) and p.poll() is None:
            lines.append(p.stderr.readline())
        auth = auth_check_over_hosts(h, lines)
        out, err = p.communicate(timeout=240)
        secs = time.monotonic() - t
        r = subprocess.CompletedProcess(p.args, p.returncode, out, "".join(lines) + err)
        check(r.returncode == 0, "exit %d\n%s%s" % (r.returncode, r.stdout[-3000:],
                                                  r.stderr[-3000:]))
        check(r.stdout.count(PASSWORD) + r.stderr.count(PASSWORD) == 0, "password printed")
        rep = json.load(open(os.path.join(report, "report.json")))
        checks = {c["name"]: c for c in rep["checks"]}
        for name in ("cycles", "lost_slots"):
            obs = checks[name]["observations"]
            check(checks[name]["status"] == "pass" and obs and obs[0]["observer"] == "m2",
                  "%s: %s" % (name, checks[name]))
        placed = {n["node"]: (x["name"], n["addr"]) for x in rep["hosts"] for n in x["nodes"]}
        check(len(placed) == 6 and len({a for _, a in placed.values()}) == 6, placed)
        for node in ("m1", "m2", "m3"):
            check(placed[node][0] != placed[node + "r1"][0], "%s beside its replica" % node)
        for x in rep["hosts"]:
            check(abs(x["clock_offset_ms"][0]) < 5 and x["clock_rtt_ms"][0] < 50, x)
        # every host's capture and every node's log came back
        for k in range(3):
            cap = os.path.join(report, "shim-h%d.pcap" % (k + 1))
            check(os.path.getsize(cap) > 1000, "%s: %d bytes" % (cap, os.path.getsize(cap)))
        for node in placed:
            log = open(os.path.join(report, node + ".log")).read()
            check("Ready to accept connections" in log, "%s.log: %r" % (node, log[-300:]))
        bus = open(os.path.join(report, "bus.txt")).read().splitlines()
        receivers = {l.split(" > ")[1].split(":")[0] for l in bus if " > " in l}
        check(len(receivers) == 6, "bus messages received by %s" % sorted(receivers))
        check(h.leftovers() == [] and remote_dirs(h) == [],
              "left on the hosts: %s %s" % (h.leftovers(), remote_dirs(h)))
        runs = os.listdir("/run/rift/runs") if os.path.isdir("/run/rift/runs") else []
        check(runs == [], "registry entries left: %s" % runs)
        ssh = subprocess.run(["pgrep", "-f", "ssh .*" + h.ssh_config], capture_output=True,
                             text=True).stdout.split()
        check(ssh == [], "ssh processes left: %s" % ssh)
        check(rep["password"] == "set", rep.get("password"))
        leaked = [f for f in os.listdir(report) if os.path.isfile(os.path.join(report, f)) and
                  PASSWORD.encode() in open(os.path.join(report, f), "rb").read()]
        check(leaked == [], "the password is in %s" % leaked)
        print("  %.1f s; cycle and lost slots in m2's view (%s on %s); %d bus messages from 3 "
              "hosts' captures; clock offsets %s ms; nothing left on the hosts; %d of 6 nodes "
              "refused PING, CLUSTER NODES, FLUSHALL and CONFIG GET without the password" %
              (secs, placed["m2"][1], placed["m2"][0], len(bus),
               [x["clock_offset_ms"][0] for x in rep["hosts"]], len(auth["refused"])))
    finally:
        h.close()


def test_killed_run_is_cleaned_by_rift_cleanup_hosts(ns):
    h = hostsdemo.Hosts(tag=str(os.getpid())[-4:] + "b")
    try:
        hosts = h.hosts_ini()
        p = subprocess.Popen(h.run_argv([RIFT, "run", os.path.join(SCN, "failover-pong-race.ini"),
                                         "--hosts", hosts]), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        seen = ""
        while "step fault a-to-c on" not in seen and time.monotonic() < deadline:
            seen += p.stderr.readline()
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stderr.close()
        before = h.leftovers()
        check(len(before) >= 7, "a killed run left servers and shims on the hosts: %s" % before)
        # without the hosts file the run is kept, and named
        r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "rift cleanup --hosts" in r.stdout, r.stdout + r.stderr)
        # a host that does not answer: kept again
        bad = os.path.join(ns.tmp, "bad.ini")
        with open(bad, "w") as f:
            f.write(open(hosts).read().replace("ssh = h2", "ssh = nosuchhost.invalid"))
        r = subprocess.run(h.run_argv([RIFT, "cleanup", "--hosts", bad]), capture_output=True,
                           text=True, timeout=120)
        check(r.returncode == 2 and "kept" in r.stdout, r.stdout + r.stderr)
        r = subprocess.run(h.run_argv([RIFT, "cleanup", "--hosts", hosts]), capture_output=True,
                           text=True, timeout=120)
        check(r.returncode == 0, r.stdout + r.stderr)
        after = h.leftovers()
        check(after == [] and remote_dirs(h) == [],
              "left after cleanup: %s %s" % (after, remote_dirs(h)))
        import glob
        check(not glob.glob("/tmp/rift-cleanup-*"), glob.glob("/tmp/rift-cleanup-*"))
        print("  killed after the first step: %d processes and chains on the hosts; "
              "`rift cleanup` alone keeps the run (exit 2), with h2 unreachable too; "
              "`rift cleanup --hosts` removes everything:\n  %s" %
              (len(before), "\n  ".join(r.stdout.strip().splitlines())))
    finally:
        h.close()


def test_kill_pause_restart_over_hosts_are_steps_not_crashes(ns):
    h = hostsdemo.Hosts(tag=str(os.getpid())[-4:] + "c")
    try:
        hosts = h.hosts_ini()
        scn = os.path.join(ns.tmp, "steps.ini")
        with open(scn, "w") as f:
            f.write("[cluster]\nmasters = 3\nreplicas = 1\nnode_timeout = 2000\n[timeline]\n"
                    "0.5s = kill m2r1\n1.0s = restart m2r1\n1.5s = pause m3r1\n"
                    "2.0s = resume m3r1\n2.5s = restart m1\n3.0s = wait converged\n"
                    "[check]\nconverge_within = 30s\nlost_slots = allow\n")
        report = os.path.join(ns.tmp, "steps")
        r = subprocess.run(h.run_argv([RIFT, "run", scn, "--hosts", hosts, "--report", report]),
                           capture_output=True, text=True, timeout=240)
        check(r.returncode == 0, "exit %d\n%s%s" % (r.returncode, r.stdout[-3000:],
                                                  r.stderr[-3000:]))
        rep = json.load(open(os.path.join(report, "report.json")))
        checks = {c["name"]: c for c in rep["checks"]}
        check(checks["crashes"]["observations"] == [], checks["crashes"])
        check(checks["convergence"]["status"] == "pass", checks["convergence"])
        skipped = [s for s in rep["steps"] if s["status"] != "done"]
        check(skipped == [], "skipped steps: %s" % skipped)
        check(h.leftovers() == [] and remote_dirs(h) == [],
              "left on the hosts: %s %s" % (h.leftovers(), remote_dirs(h)))
        print("  kill, restart, pause, resume, restart of a primary over SSH hosts: no crash, "
              "converged; nothing left")
    finally:
        h.close()
