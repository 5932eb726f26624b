"""What rift promises a shared host: every cluster it starts asks for a
password that is made for the run (or chosen in [cluster] password), that
no node answers without it, that no command line and no report file holds
it, and that the run's own clients (observer, workload, probes, the app)
use it."""
import json
import os
import select
import signal
import socket
import subprocess
import time

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


CLIENT2 = "127.0.0.21"
NODES2 = {"r1": lib.NODE + ":%d" % lib.PORT, "cl": lib.CLIENT, "cl2": CLIENT2}


def rift_chains(ns):
    return sorted(l.split()[0][1:] for l in ns.iptables_rift() if l.startswith(":"))


def matched(shim, rule):
    return shim.stats()["rules"][rule]["matched"]


def pings(ns, src, n=20):
    c = lib.RespClient(ns, src, lib.NODE, lib.PORT, 5.0)
    rtt = lib.ping_rtts(c, n)
    c.close()
    return rtt


def test_two_shims_forced_onto_one_queue_keep_to_their_own(ns):
    """Shim A holds queue 7 with a delay on; B is forced onto queue 7 too:
    refused with a clear error, or with queue_search moved to queue 8; B,
    `rift-shim --cleanup` and the agent's cleanup of another run remove
    nothing of A's while A runs (its counters keep rising); after A is
    killed its chain goes to a cleanup of its owner only."""
    lib.Redis(ns)
    rules = ("[rule a]\nfrom = cl\nto = r1\nports = client\ndelay = 1ms\n")
    a = lib.Shim(ns, rules, "queue = 7\nowner = runA\n", nodes=NODES2, sock="a.sock")
    a_chain = "RIFT-7-runA"
    check(rift_chains(ns) == [a_chain], rift_chains(ns))
    pings(ns, lib.CLIENT)
    seen = [matched(a, "a")]
    # forced onto the same queue, nothing to fall back to: refused, exit 2
    b = lib.Shim(ns, rules.replace("from = cl", "from = cl2"), "queue = 7\nowner = runB\n",
                 nodes=NODES2, sock="b.sock", expect_fail=True)
    rc = b.proc.wait(10)
    check(rc == 2 and "cannot bind NFQUEUE 7: another process holds it; queues 7-7 are in use"
          in b.stderr(), "exit %d: %s" % (rc, b.stderr()))
    check(rift_chains(ns) == [a_chain], "after the refused shim: %s" % rift_chains(ns))
    pings(ns, lib.CLIENT)
    seen.append(matched(a, "a"))
    # with queue_search it takes the next free queue, runs and ends
    b2 = lib.Shim(ns, rules.replace("from = cl", "from = cl2"),
                  "queue = 7\nowner = runB\nqueue_search = 4\n", nodes=NODES2, sock="b2.sock")
    check("queues 7-7 are in use; this shim takes queue 8" in b2.stderr(), b2.stderr())
    check(b2.stats()["queue"] == 8, b2.stats()["queue"])
    check(rift_chains(ns) == sorted([a_chain, "RIFT-8-runB"]), rift_chains(ns))
    pings(ns, CLIENT2)
    pings(ns, lib.CLIENT)
    b2_matched = matched(b2, "a")
    seen.append(matched(a, "a"))
    check(b2.stop() == 0, b2.stderr())
    check(rift_chains(ns) == [a_chain], "after B ended: %s" % rift_chains(ns))
    # a cleanup while A runs removes nothing of it
    r = ns.run([lib.SHIM, "--cleanup"])
    check(r.returncode == 0 and "removed 0 rift chains; kept 1 in use (RIFT-7-runA: its "
          "rift-shim (pid %d) is running)" % a.proc.pid in r.stderr, r.stderr)
    d = os.path.join(ns.tmp, "rift-agentdir")
    check(ns.run([lib.SHIM, "agent", "mkdir", d]).returncode == 0, "agent mkdir")
    r = ns.run([lib.SHIM, "agent", "cleanup", d, "runA"])
    check(r.returncode == 0 and "chains 0, kept: RIFT-7-runA" in r.stdout, r.stdout + r.stderr)
    check(rift_chains(ns) == [a_chain], "after the cleanups: %s" % rift_chains(ns))
    pings(ns, lib.CLIENT)
    seen.append(matched(a, "a"))
    check(all(y > x for x, y in zip(seen, seen[1:])), "A's matched counter: %s" % seen)
    # A killed: its chain stays until its owner's cleanup
    a.stop(signal.SIGKILL)
    r = ns.run([lib.SHIM, "--cleanup", "--owner", "runB"])
    check("removed 0 rift chains" in r.stderr and rift_chains(ns) == [a_chain], r.stderr)
    r = ns.run([lib.SHIM, "--cleanup", "--owner", "runA"])
    check("removed 1 rift chain" in r.stderr and rift_chains(ns) == [], r.stderr)
    check(ns.iptables_rift() == [], ns.iptables_rift())
    print("  A's matched packets at each step: %s; B refused on queue 7 (exit 2), then ran on "
          "queue 8 (%d matched) and ended; --cleanup and the agent kept A's chain while it "
          "ran" % (seen, b2_matched))


def test_host_drop_rule_behind_the_shim_still_drops(ns):
    """A host rule behind rift's jump (appended to INPUT) still applies to
    the packets the shim queued: a delay rule on cl and cl2, a host DROP of
    cl's packets; cl cannot connect, cl2 connects and sees the delay."""
    lib.Redis(ns)
    rules = ("[rule slow]\nfrom = cl, cl2\nto = r1\nports = client\ndirection = one-way\n"
             "delay = 20ms\n")
    shim = lib.Shim(ns, rules, nodes=NODES2)
    ns.run(["iptables", "-A", "INPUT", "-s", lib.CLIENT, "-p", "tcp", "--dport", str(lib.PORT),
            "-j", "DROP"], check=True)
    jump = [l for l in ns.run(["iptables-save"]).stdout.splitlines()
            if l.startswith("-A INPUT") and "RIFT-" in l]
    check(len(jump) == 1 and "! --mark 0x40000000/0x40000000" in jump[0], jump)
    rtt = sorted(pings(ns, CLIENT2, 10))
    check(20.0 <= rtt[len(rtt) // 2] < 60.0, "cl2's PING median %.1f ms" % rtt[len(rtt) // 2])
    before = matched(shim, "slow")
    refused = False
    try:
        lib.RespClient(ns, lib.CLIENT, lib.NODE, lib.PORT, 1.0).command("PING")
    except OSError:
        refused = True
    after = matched(shim, "slow")
    drops = [l for l in ns.run(["iptables", "-L", "INPUT", "-v", "-x", "-n"]).stdout.splitlines()
             if "DROP" in l and lib.CLIENT in l]
    dropped = int(drops[0].split()[0]) if drops else 0
    check(refused, "cl connected through the host's DROP rule")
    check(after > before and dropped >= 1,
          "the shim queued %d of cl's packets, the host rule dropped %d" % (after - before,
                                                                             dropped))
    check(shim.stop() == 0, shim.stderr())
    print("  cl2's PING median %.1f ms through a 20 ms delay; cl: %d packets queued by the "
          "shim, %d dropped by the host's rule behind it, no connection" %
          (rtt[len(rtt) // 2], after - before, dropped))


def flood_control(path, n):
    """n `stats` requests on the shim's control socket, sent without ever
    reading a reply (sends that do not go within 5 s are given up): how
    many went, and whether the shim closed the connection."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    data, sent, closed = b"stats\n" * n, 0, False
    end = time.monotonic() + 5.0
    while sent < len(data) and time.monotonic() < end:
        try:
            sent += s.send(data[sent:sent + 4096])
        except BlockingIOError:
            select.select([], [s], [], 0.1)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
    return s, sent // 6, closed


def test_control_client_that_never_reads_cannot_stall_the_shim(ns):
    """A control client sends 10,000 `stats` requests and reads nothing:
    the shim keeps answering PINGs through its 1 ms delay rule (round trips
    measured before, during and after), answers another control client,
    closes the one that does not read once 256 KiB of replies wait (and
    says so), and stops on SIGTERM within 3 s."""
    lib.Redis(ns)
    rules = "[rule slow]\nfrom = cl\nto = r1\nports = client\ndelay = 1ms\n"
    shim = lib.Shim(ns, rules)
    before = lib.median(pings(ns, lib.CLIENT))
    c = lib.RespClient(ns, lib.CLIENT, lib.NODE, lib.PORT, 2.0)
    flood, requests, _ = flood_control(shim.sock, 10000)
    during = []
    try:
        during = lib.ping_rtts(c, 50)
    except OSError as e:
        check(False, "a PING through the shim got no answer after %d round trips while a "
              "control client did not read (%s)" % (len(during), e))
    c.close()
    lib.wait_for(lambda: "does not read its replies" in shim.stderr(), 10,
                 "the shim to close the control client that does not read")
    check(shim.stats()["rules"]["slow"]["matched"] > 0, "another control client's stats")
    unread = 0
    flood.setblocking(True)
    flood.settimeout(5.0)
    try:
        while True:
            b = flood.recv(65536)
            if not b:
                break
            unread += len(b)
    except ConnectionResetError:
        pass
    flood.close()
    log = [l for l in shim.stderr().splitlines() if "does not read its replies" in l]
    check(len(log) == 1 and "over 256 KiB): closed" in log[0], log)
    after = lib.median(pings(ns, lib.CLIENT))
    check(max(during) < 500.0 and lib.median(during) < 50.0 and after < 50.0,
          "PING round trips: before %.1f ms, while flooded median %.1f max %.1f, after %.1f" %
          (before, lib.median(during), max(during), after))
    t = time.monotonic()
    rc = shim.stop(timeout=10)
    took = time.monotonic() - t
    check(rc == 0 and took < 3.0, "SIGTERM: exit %s after %.1f s" % (rc, took))
    check(ns.iptables_rift() == [], ns.iptables_rift())
    print("  %d stats requests sent unread; PING round trips: before %.1f ms, during median "
          "%.1f max %.1f (50), after %.1f; the client was closed with %d bytes of replies "
          "it had not read (%s); SIGTERM: exit 0 in %.2f s" %
          (requests, before, lib.median(during), max(during), after, unread,
           log[0].split("rift-shim: ")[-1], took))
