#!/usr/bin/python3
"""make bench: the performance figures of DESIGN.md, measured side by side in
one run inside a private namespace, printed as ratios.
  idle          a policy loaded, no rule on, vs no shim (redis-benchmark)
  pass-through  a rule on that changes nothing, vs tests/bench/baseline-accept
                and vs no shim
  delay         added one-way latency minus requested at 1, 10, 100 ms while
                redis-benchmark loads the port through the shim, beside the
                platform's own one-way latency at the same cadence
  held          1M packets held at once over 16 queues; memory per packet
  harness       rift run of the 3+3 baseline scenario, 10 times
Configurations alternate round by round so that drift hits all alike.
RIFT_BENCH_ROUNDS, RIFT_BENCH_REQUESTS and RIFT_BENCH_RUNS make it shorter;
RIFT_BENCH_PROFILE=FILE records the first 3-byte pass-through round with
perf and prints who took the CPU."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import lib  # noqa: E402
from lib import BASELINE, CLIENT, NODE, PORT, PROBE, Redis, Shim, check, wait_for  # noqa: E402

ROUNDS = int(os.environ.get("RIFT_BENCH_ROUNDS", "5"))
REQUESTS = int(os.environ.get("RIFT_BENCH_REQUESTS", "50000"))
HARNESS_RUNS = int(os.environ.get("RIFT_BENCH_RUNS", "10"))
RIFT = os.path.join(lib.ROOT, "bin", "rift")
DECODE = os.path.join(lib.ROOT, "build", "bench", "decode")
LO = "127.0.0.1"  # redis-benchmark connects from lo's primary address


def redis_rps(ns, value_size=3):
    # a round that stalls (redis-benchmark at 0 requests/s) is a failure to
    # report, not a bench that never ends: 10x a slow round's time at most
    limit = max(60, REQUESTS * 2 * 10 / 5000)
    try:
        r = ns.run(["redis-benchmark", "-h", NODE, "-p", str(PORT), "-c", "50", "-n",
                    str(REQUESTS), "-t", "set,get", "-q", "-d", str(value_size)],
                   timeout=limit)
    except subprocess.TimeoutExpired:
        check(False, "redis-benchmark (%d-byte values) stalled for %d s" % (value_size, limit))
    vals = [float(v) for v in re.findall(r"([\d.]+) requests per second", r.stdout)]
    check(len(vals) == 2, "redis-benchmark output: " + r.stdout + r.stderr)
    return sum(vals) / 2


def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


NODES = {"r1": "%s:%d" % (NODE, PORT), "lo": LO, "cl": CLIENT}
PASS_RULE = "[rule pass]\nfrom = lo\nto = r1\nports = client\ndirection = both\nstart = %s\n"


def baseline_rules(ns, add):
    op = "-A" if add else "-D"
    for spec in (["-s", LO, "-d", NODE, "-p", "tcp", "--dport", str(PORT)],
                 ["-s", NODE, "-d", LO, "-p", "tcp", "--sport", str(PORT)]):
        ns.run(["iptables", op, "INPUT"] + spec + ["-j", "NFQUEUE", "--queue-num", "1"],
               check=True)


def ratios(num, den):
    """Ratios within each round, then (median, lowest, highest): the machine
    drifts between rounds far more than within one."""
    r = [x / y for x, y in zip(num, den)]
    return med(r), min(r), max(r)


def perf_start(value_size, rnd):
    """RIFT_BENCH_PROFILE=FILE: `perf record -a -g` over the first 3-byte
    pass-through round, into FILE."""
    out = os.environ.get("RIFT_BENCH_PROFILE")
    if not out or value_size != 3 or rnd:
        return None
    return subprocess.Popen(["perf", "record", "-a", "-g", "-o", out], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def perf_stop(p):
    """Stops the recording and prints each command's share of all samples,
    and how much of rift-shim's is its own code rather than the kernel."""
    if not p:
        return
    p.send_signal(signal.SIGINT)
    p.wait()
    out = os.environ["RIFT_BENCH_PROFILE"]
    rep = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "comm,dso",
                          "--stdio", "-g", "none"], capture_output=True, text=True).stdout
    share = {}
    for m in re.finditer(r"^\s+([\d.]+)%\s+(\S+)\s+(\S+)", rep, re.M):
        comm, dso = m.group(2), m.group(3)
        share.setdefault(comm, [0.0, 0.0])
        share[comm][0] += float(m.group(1))
        if "kernel" not in dso:
            share[comm][1] += float(m.group(1))
    top = sorted(share.items(), key=lambda kv: -kv[1][0])[:5]
    print("  profile of the 3-byte pass-through round (%s): %s; rift-shim's own code (not the "
          "kernel) %.1f%% of all samples" % (out, ", ".join("%s %.1f%%" % (c, v[0]) for c, v in top),
                                            share.get("rift-shim", [0, 0])[1]), flush=True)


def throughput(ns, value_size):
    res = {"none": [], "idle": [], "pass": [], "baseline": []}
    calls = [0, 0, 0, 0]
    for rnd in range(ROUNDS):
        res["none"].append(redis_rps(ns, value_size))
        shim = Shim(ns, PASS_RULE % "manual", nodes=NODES)
        res["idle"].append(redis_rps(ns, value_size))
        shim.ctl("on", "pass")
        prof = perf_start(value_size, rnd)
        res["pass"].append(redis_rps(ns, value_size))
        perf_stop(prof)
        full = shim.stats()
        st = full["rules"]["pass"]
        check(st["passed"] > REQUESTS, "pass-through rule saw %d packets" % st["passed"])
        for i, k in enumerate(("packets", "rx_syscalls", "verdict_syscalls", "accepts_batched")):
            calls[i] += full[k]
        shim.stop()
        base = ns.popen([BASELINE, "1"], stderr=subprocess.PIPE, text=True)
        check("ready" in base.stderr.readline(), "baseline-accept did not start")
        baseline_rules(ns, True)
        res["baseline"].append(redis_rps(ns, value_size))
        baseline_rules(ns, False)
        base.terminate()
        base.wait()
        print("  %5d-byte values, round %d: no shim %.0f, idle %.0f, pass-through %.0f, "
              "baseline loop %.0f requests/s" % (value_size, rnd + 1, res["none"][-1],
                                                 res["idle"][-1], res["pass"][-1],
                                                 res["baseline"][-1]), flush=True)
    return {"idle": ratios(res["idle"], res["none"]), "pass": ratios(res["pass"], res["baseline"]),
            "pass_none": ratios(res["pass"], res["none"]),
            "ceiling": ratios(res["none"], res["baseline"]), "calls": calls}


def owd(ns, n, interval_us, fifo=False, port=PORT):
    r = ns.run([PROBE, "owd", CLIENT, "%s:%d" % (NODE, port), str(n), str(interval_us)] +
               (["--fifo"] if fifo else []))
    return json.loads(r.stdout)["us"]


LOAD_RULE = "[rule load]\nfrom = lo\nto = r1\nports = client\ndirection = both\n"
DELAYS = ((1, 400), (10, 200), (100, 60))


def start_load(ns):
    """redis-benchmark on the client port until stopped: SET/GET of 3-byte
    values from 50 connections."""
    return ns.popen(["redis-benchmark", "-h", NODE, "-p", str(PORT), "-c", "50", "-n",
                     "100000000", "-t", "set,get", "-q", "-d", "3"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_load(p):
    p.terminate()
    p.wait()


def delay_accuracy(ns, busy, load=True, rounds=4):
    """Added one-way latency minus the requested delay, while redis-benchmark
    loads the node's client port through the same shim (a pass rule). The
    reference is the platform's own one-way latency at the same cadence,
    load and moment: datagrams to another port, which no rule matches, in
    rounds that alternate with the delayed ones. A datagram every delay +
    2 ms finds the stack colder than one every 2 ms (here about 5 us at
    1 ms, 25-45 us at 100 ms), and the machine drifts from one minute to
    the next."""
    shim = Shim(ns, "[rule d]\nfrom = cl\nto = r1\nports = client\nproto = udp\n"
                "delay = 1ms\n" + (LOAD_RULE if load else ""),
                shim_extra="busy_poll = %s\n" % ("yes" if busy else "no"), nodes=NODES)
    out = {}
    lp = start_load(ns) if load else None
    try:
        for d_ms, n in DELAYS:
            shim.ctl("set", "d", "delay", "%dms" % d_ms)
            err, plat = [], []
            for _ in range(rounds):
                ref = owd(ns, n // rounds, d_ms * 1000 + 2000, fifo=load, port=PORT + 1)
                got = owd(ns, n // rounds, d_ms * 1000 + 2000, fifo=load)
                base = med(ref)
                err += [v - d_ms * 1000 - base for v in got]
                plat += ref
            out[d_ms] = (pct(err, 0.5), pct(err, 0.99), len(err), med(plat), pct(plat, 0.99))
    finally:
        if lp:
            stop_load(lp)
    st = shim.stats()["rules"]
    shim.stop()
    if load:
        check(st["load"]["passed"] > 10000, "the load rule saw %d packets" % st["load"]["passed"])
    check(st["d"]["delayed"] == sum(n // rounds * rounds for _, n in DELAYS),
          "the delay rule delayed %d datagrams" % st["d"]["delayed"])
    return out, st["load"]["passed"] if load else 0


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def shim_pid(ns):
    out = subprocess.run(["pgrep", "-x", "rift-shim"], capture_output=True, text=True).stdout
    return int(out.split()[-1])


def queue_totals(ns, first, n):
    """Packets waiting in NFQUEUE queues first..first+n-1 of the namespace,
    from the kernel."""
    tot = [0] * n
    for line in ns.run(["cat", "/proc/net/netfilter/nfnetlink_queue"]).stdout.splitlines():
        v = line.split()
        if len(v) >= 3 and first <= int(v[0]) < first + n:
            tot[int(v[0]) - first] = int(v[2])
    return tot


def udp_rcvbuf_errors(ns):
    """Datagrams the namespace's UDP sockets dropped for want of room."""
    lines = [l.split() for l in ns.run(["cat", "/proc/net/snmp"]).stdout.splitlines()
             if l.startswith("Udp:")]
    return int(lines[1][lines[0].index("RcvbufErrors")])


def held_capacity(ns, n=1000000, size=64, queues=16, flows=128):
    """n packets held at once over `queues` queues (the kernel keeps at most
    65536 in one). Flows are hashed to queues: each flow's queue is learnt
    from one packet and the kernel's per-queue counts, then every queue gets
    n / queues packets from its flows."""
    shim = Shim(ns, "[rule h]\nfrom = cl\nto = r1\nports = client\nproto = udp\nhold = yes\n"
                "start = manual\n", shim_extra="queue_maxlen = 65536\nqueues = %d\n" % queues,
                nodes=NODES)
    pid = shim_pid(ns)
    recv = ns.popen([PROBE, "recv", "%s:%d" % (NODE, PORT), str(n), "10000"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(recv.stderr.readline().strip() == "ready", "receiver did not start")
    shim.ctl("on", "h")
    dest = "%s:%d" % (NODE, PORT)
    port0 = 20000
    q_of = {}
    for f in range(flows):
        before = queue_totals(ns, 0, queues)
        # a number past n: the receiver does not count it
        ns.run([PROBE, "send", CLIENT, dest, "1", str(size), "0", "1", str(port0 + f),
                str(n + f)], check=True)
        wait_for(lambda: sum(queue_totals(ns, 0, queues)) > sum(before), 10, "flow %d queued" % f)
        after = queue_totals(ns, 0, queues)
        q_of[f] = [i for i in range(queues) if after[i] > before[i]][0]
    per_q = {q: [f for f in range(flows) if q_of[f] == q] for q in range(queues)}
    check(all(per_q.values()), "a queue got none of %d flows: %s" % (flows, per_q))
    before = rss_kib(pid)
    t0 = time.monotonic()
    seq = 0
    for q in range(queues):
        share = n // queues + (1 if q < n % queues else 0)
        fl = per_q[q]
        for k, f in enumerate(fl):
            cnt = share // len(fl) + (1 if k < share % len(fl) else 0)
            ns.run([PROBE, "send", CLIENT, dest, str(cnt), str(size), "300000", "1",
                    str(port0 + f), str(seq)], check=True)
            seq += cnt
    wait_for(lambda: shim.stats()["rules"]["h"]["held_now"] >= n + flows, 120,
             "%d held packets" % n)
    fill_s = time.monotonic() - t0
    st = shim.stats()
    after = rss_kib(pid)
    t1 = time.monotonic()
    drops0 = udp_rcvbuf_errors(ns)
    shim.ctl("off", "h")
    out, _ = recv.communicate(timeout=120)
    rel = json.loads(out)
    st_end = shim.stats()
    shim.stop()
    ip_len = size + 28
    per = (after - before) * 1024.0 / n
    return {"held": st["rules"]["h"]["held_now"] - flows, "per_packet": per, "payload": ip_len,
            "overhead": per - ip_len, "overflows": st["queue_overflows"], "queues": queues,
            "delivered": rel["unique"], "fill_s": fill_s, "release_s": time.monotonic() - t1,
            "out_of_order": rel["out_of_order"], "busiest": max(len(v) for v in per_q.values()),
            "rcvbuf_drops": udp_rcvbuf_errors(ns) - drops0,
            "verdict_errors": st_end["verdict_errors"]}


def harness_runs(runs):
    """`rift run` of the shipped 3+3 baseline scenario, start to verdict, and
    when its cluster was ready (from the line that starts the run, just
    before the servers do)."""
    scn = os.path.join(lib.ROOT, "harness", "scenarios", "baseline.ini")
    total, ready = [], []
    for _ in range(runs):
        t = time.monotonic()
        r = subprocess.run([RIFT, "run", scn], capture_output=True, text=True, timeout=180)
        total.append(time.monotonic() - t)
        check(r.returncode == 0, "rift run baseline.ini: exit %d\n%s" % (r.returncode,
                                                                       r.stderr[-2000:]))
        start = re.search(r"\[\s*([\d.]+)\] rift: run ", r.stderr)
        up = re.search(r"\[\s*([\d.]+)\] cluster ready", r.stderr)
        check(start and up, r.stderr[-2000:])
        ready.append(float(up.group(1)) - float(start.group(1)))
    return total, ready


def mark(good):
    return "ok" if good else "MISSED"


def show_throughput(size, t):
    """The lines of one value size; True when its targets hold."""
    lines = [("idle policy vs no shim       ", "idle", 0.98),
             ("pass-through vs baseline loop", "pass", 1.5)]
    if size >= 16384:
        lines.append(("pass-through vs no shim      ", "pass_none", 0.9))
    good = True
    for label, key, target in lines:
        print("%5d-byte values: %s %.3f (rounds %.3f-%.3f, target >= %.2f) %s"
              % ((size, label) + t[key] + (target, mark(t[key][0] >= target))))
        good &= t[key][0] >= target
    print("%5d-byte values: reference: no shim vs baseline loop %.3f (rounds %.3f-%.3f): what "
          "a consumer that costs nothing would reach" % ((size,) + t["ceiling"]))
    pk, rx, tx, batched = t["calls"]
    print("%5d-byte values: the shim's pass-through took %.2f packets per receive call and %.2f "
          "per verdict call; %.0f%% of its accepts went out in batch verdicts"
          % (size, pk / max(rx, 1), pk / max(tx, 1), 100.0 * batched / max(pk, 1)), flush=True)
    return good


def show_delay(ns, busy):
    acc, load_pkts = delay_accuracy(ns, busy)
    mode = "busy_poll = yes" if busy else "defaults (realtime, timer_spin 300us)"
    print("delay accuracy, %s; one-way base %.1f us (redis-benchmark through the shim on the "
          "same port, %d packets):" % (mode, acc[1][3], load_pkts))
    good = True
    for d_ms, (p50, p99, n, plat50, plat99) in acc.items():
        g = abs(p50) <= 20 and p99 <= 200
        tgt = "(no target)" if busy else "(target p50 <= 20, p99 <= 200) " + mark(g)
        print("  %3d ms: error p50 %+7.1f us, p99 %+8.1f us over %d packets  %s; platform "
              "one-way at this cadence p50 %.1f us, p99 %.1f us" % (d_ms, p50, p99, n, tgt,
                                                                   plat50, plat99))
        good &= g
    return good or busy


def decode():
    """The decoders on 1 MiB of hostile input, fed the easy way and the hard
    way side by side (build/bench/decode): the hard way stays well under a
    second."""
    r = subprocess.run([DECODE], capture_output=True, text=True, timeout=600)
    print(r.stdout.rstrip())
    worst = float(r.stdout.split("decode: worst ")[1].split()[0])
    good = r.returncode == 0 and worst < 1000.0
    print("decoders: the slowest 1 MiB feed took %.1f ms  (target < 1000 ms) %s" %
          (worst, mark(good)))
    return good


def main():
    if os.geteuid() != 0:
        print("make bench needs root")
        return 2
    ok = decode()
    ns = lib.Netns("bench")
    try:
        print("rift bench: %d rounds of %d redis-benchmark requests (SET+GET, 50 clients)"
              % (ROUNDS, REQUESTS), flush=True)
        Redis(ns)
        for size in (3, 16384):
            ok &= show_throughput(size, throughput(ns, size))
        w = json.loads(ns.run([PROBE, "wake", "400", "2000"]).stdout)["us"]
        print("platform reference: a thread woken from the other CPU after 2 ms asleep "
              "takes p50 %.1f us, p99 %.1f us" % (pct(w, 0.5), pct(w, 0.99)))
        for busy in (False, True):
            ok &= show_delay(ns, busy)
        h = held_capacity(ns)
        good = h["held"] >= 1000000 and h["delivered"] == h["held"] and not h["overflows"]
        print("held packets: %d at once over %d queues (target >= 1000000) %s, %.0f s to fill, "
              "%d delivered in order after release (%d out of order) in %.1f s, %d queue "
              "overflows, %d verdict errors, %d dropped by the receiver's socket"
              % (h["held"], h["queues"], mark(good), h["fill_s"], h["delivered"],
                 h["out_of_order"], h["release_s"], h["overflows"], h["verdict_errors"],
                 h["rcvbuf_drops"]))
        print("memory per held packet: %.1f B = payload %d B + %.1f B  (target <= payload + 48) "
              "%s" % (h["per_packet"], h["payload"], h["overhead"], mark(h["overhead"] <= 48)))
        ok &= good and h["overhead"] <= 48
    finally:
        ns.close()
    total, ready = harness_runs(HARNESS_RUNS)
    good = med(total) <= 8.0
    print("harness: baseline.ini (3+3, manual failover, 5 client probes), %d runs: start to "
          "verdict min %.2f s, median %.2f s, max %.2f s  (target median <= 8 s) %s"
          % (len(total), min(total), med(total), max(total), mark(good)))
    print("harness: cluster ready after the servers start: min %.2f s, median %.2f s, max %.2f s  "
          "(target <= 2 s) %s; floor: a primary reports cluster_state ok no sooner than 2.0 s "
          "after it starts (CLUSTER_WRITABLE_DELAY), rift's part is the rest"
          % (min(ready), med(ready), max(ready), mark(med(ready) <= 2.0)))
    ok &= good and med(ready) <= 2.0
    print("bench: %s" % ("all targets met" if ok else "some targets missed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
