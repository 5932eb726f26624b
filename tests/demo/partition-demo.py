#!/usr/bin/python3
"""make demo: a real Redis Cluster, a real fault, a verdict.

Starts 3 primaries and 3 replicas of Debian's redis-server in a private
network namespace, cuts primary m1 off from every other node (both ways,
bus and client ports) with rift-shim, samples every node's CLUSTER NODES
every 50 ms from an address no rule touches, ends the partition once a
replica has taken over, and waits for the cluster to agree again.

Exit 0: the majority failed m1 over and the healed cluster converged with
every slot covered. Exit 1: it did not. Exit 2: the demo itself failed."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import lib  # noqa: E402
from lib import ADMIN, Shim, wait_for  # noqa: E402

NODE_TIMEOUT = 2000
PRIMARIES = ["m1", "m2", "m3"]
REPLICAS = {"m1r1": "m1", "m2r1": "m2", "m3r1": "m3"}
ADDR = {"m1": "127.0.0.11", "m2": "127.0.0.12", "m3": "127.0.0.13",
        "m1r1": "127.0.0.14", "m2r1": "127.0.0.15", "m3r1": "127.0.0.16"}
PORT = 7000


def say(msg):
    print("[%7.3f] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def start_node(ns, name):
    ip = ADDR[name]
    d = os.path.join(ns.tmp, name)
    os.makedirs(d)
    ns.popen(["redis-server", "--bind", ip, "--bind-source-addr", ip, "--port", str(PORT),
              "--cluster-enabled", "yes", "--cluster-config-file", os.path.join(d, "nodes.conf"),
              "--cluster-node-timeout", str(NODE_TIMEOUT), "--protected-mode", "no",
              "--save", "", "--appendonly", "no", "--dir", d,
              "--logfile", os.path.join(d, "log")],
             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def admin(ns, name):
    return lib.RespClient(ns, ADMIN, ADDR[name], PORT, 2.0)


def view(ns, name):
    """{node id: (addr, flags, primary id, slot count)} as name sees it."""
    c = admin(ns, name)
    try:
        text = c.command("CLUSTER", "NODES").decode()
        info = c.command("CLUSTER", "INFO").decode()
    finally:
        c.close()
    nodes = {}
    for line in text.splitlines():
        f = line.split()
        slots = 0
        for s in f[8:]:
            if s.startswith("["):
                continue
            a, _, b = s.partition("-")
            slots += int(b or a) - int(a) + 1
        nodes[f[0]] = (f[1].split("@")[0], f[2], f[3], slots)
    state = "ok" if "cluster_state:ok" in info else "fail"
    return nodes, state


def main():
    ns = lib.Netns("demo")
    verdict = 2
    try:
        say("network namespace %s; starting %d redis-server nodes" % (ns.name, len(ADDR)))
        for n in ADDR:
            start_node(ns, n)
        for n in ADDR:
            wait_for(lambda: _ping(ns, n), 10, "%s to answer" % n)
        ids = {n: admin(ns, n).command("CLUSTER", "MYID").decode() for n in ADDR}
        for n in ADDR:
            if n != "m1":
                admin(ns, n).command("CLUSTER", "MEET", ADDR["m1"], PORT)
        ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
        for p, (a, b) in zip(PRIMARIES, ranges):
            admin(ns, p).command("CLUSTER", "ADDSLOTSRANGE", a, b)
        wait_for(lambda: all(len(view(ns, n)[0]) == len(ADDR) for n in ADDR), 20,
                 "every node to know every other")
        for r, p in REPLICAS.items():
            admin(ns, r).command("CLUSTER", "REPLICATE", ids[p])
        wait_for(lambda: converged(ns), 30, "the cluster to converge")
        # A replica that never synced may not fail over (replica validity).
        wait_for(lambda: all(b"master_link_status:up" in admin(ns, r).command("INFO", "replication")
                             for r in REPLICAS), 30, "replicas to sync")
        say("cluster ready: 3 primaries, 3 replicas, node timeout %d ms" % NODE_TIMEOUT)

        nodes = {n: ADDR[n] + ":%d" % PORT for n in ADDR}
        shim = Shim(ns, "[rule cut-m1]\nfrom = m1\nto = *\nports = all\ndirection = both\n"
                        "loss = 100%\nstart = manual\n", nodes=nodes)
        shim.ctl("on", "cut-m1")
        t_cut = time.monotonic()
        say("rift-shim: m1 cut off from every node, both ways (loss = 100%)")
        seen_fail = promoted = None
        while time.monotonic() - t_cut < 6 * NODE_TIMEOUT / 1000:
            v, _ = view(ns, "m2")
            m1 = v[ids["m1"]]
            r1 = v[ids["m1r1"]]
            if seen_fail is None and "fail" in m1[1].split(",") and "fail?" not in m1[1]:
                seen_fail = time.monotonic() - t_cut
                say("m2 marks m1 as FAIL after %.0f ms" % (seen_fail * 1000))
            if promoted is None and "master" in r1[1] and r1[3] > 0:
                promoted = time.monotonic() - t_cut
                say("m1r1 took over m1's %d slots after %.0f ms" % (r1[3], promoted * 1000))
                break
            time.sleep(0.05)
        st = shim.stats()["rules"]["cut-m1"]
        shim.ctl("off", "cut-m1")
        t_heal = time.monotonic()
        say("partition ended: the shim dropped %d packets" % st["dropped"])
        ok = True
        try:
            wait_for(lambda: converged(ns), 30, "convergence", interval=0.05)
            say("cluster converged %.0f ms after the partition ended"
                % ((time.monotonic() - t_heal) * 1000))
        except lib.TestFailure:
            ok = False
            say("cluster did not converge within 30 s")
        v, _ = view(ns, "m1")
        role = "replica of m1r1" if v[ids["m1"]][2] == ids["m1r1"] else v[ids["m1"]][1]
        shim.stop()
        left = ns.iptables_rift()
        print("rift demo: partition of primary m1 (node timeout %d ms)" % NODE_TIMEOUT)
        print("  failure detected by m2   %s" % fmt(seen_fail))
        print("  replica took over        %s" % fmt(promoted))
        print("  converged after healing  %s" % ("yes" if ok else "NO"))
        print("  m1 after healing         %s" % role)
        print("  rift rules left          %d" % len(left))
        good = seen_fail is not None and promoted is not None and ok and not left
        print("verdict: %s" % ("PASS" if good else "FAIL"))
        verdict = 0 if good else 1
        if not good:
            for n in ("m1r1", "m2"):
                with open(os.path.join(ns.tmp, n, "log")) as f:
                    tail = f.read().splitlines()[-12:]
                print("  last lines of %s's log:\n    %s" % (n, "\n    ".join(tail)))
    except Exception as e:  # the demo itself failed
        print("rift demo: error: %s" % e, file=sys.stderr)
        verdict = 2
    finally:
        ns.close()
    return verdict


def fmt(t):
    return "never" if t is None else "%.0f ms after the cut" % (t * 1000)


def _ping(ns, n):
    try:
        return admin(ns, n).command("PING") == "PONG"
    except OSError:
        return False


def converged(ns):
    """Every node: same owners for all 16384 slots, no fail flags, state ok."""
    seen = None
    for n in ADDR:
        v, state = view(ns, n)
        if state != "ok":
            return False
        flags = [f for (_, f, _, _) in v.values()]
        if any("fail" in f for f in flags):
            return False
        owners = sorted((a, s) for (a, f, _, s) in v.values() if "master" in f and s)
        if sum(s for _, s in owners) != 16384:
            return False
        if seen is None:
            seen = owners
        elif owners != seen:
            return False
    return True


T0 = time.monotonic()
if __name__ == "__main__":
    if os.geteuid() != 0:
        print("make demo needs root (network namespaces, iptables, NFQUEUE)")
        sys.exit(2)
    sys.exit(main())
