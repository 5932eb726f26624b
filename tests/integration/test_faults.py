"""rift-shim faults measured from outside the shim: round trips through a
real redis-server, UDP datagrams counted by a receiver, the receiving TCP
stack's own counters, and checksums of what arrived."""
import json
import subprocess
import threading
import time

import lib
from lib import (ADMIN, CLIENT, NODE, PORT, PROBE, Redis, Shim, binomial_interval, check,
                 median, ping_rtts, sha, wait_for)

UDP_RULE = "[rule f]\nfrom = cl\nto = r1\nports = client\nproto = udp\n"
TCP_RULE = "[rule f]\nfrom = cl\nto = r1\nports = client\n"


def udp_run(ns, count, size=64, pps=20000, timeout_ms=1500):
    """Send count numbered datagrams from CLIENT to NODE:PORT; what arrived."""
    recv = ns.popen([PROBE, "recv", "%s:%d" % (NODE, PORT), str(count), str(timeout_ms)],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(recv.stderr.readline().strip() == "ready", "udp receiver did not start")
    r = ns.run([PROBE, "send", CLIENT, "%s:%d" % (NODE, PORT), str(count), str(size),
                str(pps)])
    check(r.returncode == 0, "udp sender failed: " + r.stderr)
    out, _ = recv.communicate(timeout=60)
    return json.loads(out)


def test_delay_20ms_adds_20ms_to_ping(ns):
    r = Redis(ns)
    c = r.connect(CLIENT)
    base = ping_rtts(c, 200)
    shim = Shim(ns, TCP_RULE + "delay = 20ms\nstart = manual\n")
    shim.ctl("on", "f")
    delayed = ping_rtts(c, 150)
    added = median(delayed) - median(base)
    print("  PING median %.3f ms without, %.3f ms with a 20 ms delay: added %.3f ms"
          % (median(base), median(delayed), added))
    check(abs(added - 20.0) <= 1.0, "20 ms delay added %.3f ms" % added)
    st = shim.stats()["rules"]["f"]
    check(st["delayed"] >= 150 and st["dropped"] == 0, "counters: %s" % st)
    shim.ctl("off", "f")
    after = median(ping_rtts(c, 50))
    check(after < median(base) + 1.0, "after off, PING still takes %.3f ms" % after)
    check(shim.stop() == 0, "shim exit status")


def test_loss_30pct_inside_binomial_interval(ns):
    n = 4000
    shim = Shim(ns, UDP_RULE + "loss = 30%\n")
    res = udp_run(ns, n)
    lo, hi = binomial_interval(n, 0.30)
    st = shim.stats()["rules"]["f"]
    print("  %d datagrams, %d lost (99%% interval %.0f-%.0f), shim dropped %d"
          % (n, res["lost"], lo, hi, st["dropped"]))
    check(lo <= res["lost"] <= hi, "lost %d outside [%.0f, %.0f]" % (res["lost"], lo, hi))
    check(st["dropped"] == res["lost"], "shim says %d dropped, receiver missed %d"
          % (st["dropped"], res["lost"]))
    check(res["duplicates"] == 0, "duplicates under a loss rule")
    check(shim.stop() == 0, "shim exit status")


def test_loss_on_tcp_keeps_the_stream_intact(ns):
    r = Redis(ns)
    shim = Shim(ns, TCP_RULE + "loss = 30%\n")
    c = r.connect(CLIENT, timeout=30)
    value = bytes(range(256)) * 2048  # 512 KiB
    check(c.command("SET", "k", value) == "OK", "SET under 30% loss")
    for i in range(20):
        check(c.command("INCR", "n") == i + 1, "INCR under loss")
    st = shim.stats()["rules"]["f"]
    m = st["matched"]
    lo, hi = binomial_interval(m, 0.30)
    print("  %d segments matched, %d dropped (99%% interval %.0f-%.0f), data intact"
          % (m, st["dropped"], lo, hi))
    check(lo <= st["dropped"] <= hi, "dropped %d of %d" % (st["dropped"], m))
    a = r.connect(ADMIN)
    check(sha(a.command("GET", "k")) == sha(value), "value differs after lossy SET")
    check(shim.stop() == 0, "shim exit status")


def test_reorder_overtakes_held_packets(ns):
    n = 2000
    shim = Shim(ns, UDP_RULE + "delay = 10ms\nreorder = 25%\n")
    res = udp_run(ns, n, pps=2000)
    st = shim.stats()["rules"]["f"]
    lo, hi = binomial_interval(n, 0.25)
    print("  %d datagrams: %d arrived out of order, shim reordered %d (99%% interval "
          "%.0f-%.0f), lost %d" % (n, res["out_of_order"], st["reordered"], lo, hi,
                                    res["lost"]))
    check(res["lost"] == 0 and res["unique"] == n, "reorder lost datagrams: %s" % res)
    check(res["out_of_order"] > 0, "no out-of-order arrival")
    # A reordered datagram overtakes ~20 held ones (10 ms at 2000/s).
    check(res["out_of_order"] >= st["reordered"], "fewer inversions than reorders")
    check(lo <= st["reordered"] <= hi, "reordered %d" % st["reordered"])
    check(shim.stop() == 0, "shim exit status")


def tcp_bulk_with(ns, rule, counter):
    """A 4 MiB SET through a rule; the receiving stack's counter and the
    value read back."""
    r = Redis(ns)
    shim = Shim(ns, TCP_RULE + rule)
    before = ns.nstat(counter)[counter]
    c = r.connect(CLIENT, timeout=60)
    value = (b"rift" * 1024 + bytes(range(256))) * 1000
    check(c.command("SET", "big", value) == "OK", "SET failed")
    after = ns.nstat(counter)[counter]
    got = r.connect(ADMIN).command("GET", "big")
    check(sha(got) == sha(value), "4 MiB value differs after the fault")
    st = shim.stats()["rules"]["f"]
    check(shim.stop() == 0, "shim exit status")
    return after - before, st


def test_reorder_seen_by_the_tcp_receiver(ns):
    delta, st = tcp_bulk_with(ns, "delay = 5ms\nreorder = 25%\n", "TcpExtTCPOFOQueue")
    print("  receiver queued %d out-of-order segments; shim reordered %d of %d"
          % (delta, st["reordered"], st["matched"]))
    check(st["reordered"] > 0, "nothing reordered")
    check(delta > 0, "the TCP receiver saw no out-of-order segment")


def test_duplicate_delivers_second_copies(ns):
    n = 2000
    shim = Shim(ns, UDP_RULE + "duplicate = 20%\n")
    res = udp_run(ns, n)
    st = shim.stats()["rules"]["f"]
    lo, hi = binomial_interval(n, 0.20)
    print("  %d datagrams: %d duplicates received, shim duplicated %d (99%% interval "
          "%.0f-%.0f)" % (n, res["duplicates"], st["duplicated"], lo, hi))
    check(res["lost"] == 0, "duplicate rule lost datagrams")
    check(res["duplicates"] == st["duplicated"], "receiver %d vs shim %d" % (
        res["duplicates"], st["duplicated"]))
    check(lo <= res["duplicates"] <= hi, "duplicates %d" % res["duplicates"])
    check(shim.stop() == 0, "shim exit status")


def test_duplicate_seen_by_the_tcp_receiver(ns):
    delta, st = tcp_bulk_with(ns, "duplicate = 20%\n", "TcpExtTCPDSACKOldSent")
    print("  receiver reported %d duplicate segments (D-SACK); shim duplicated %d of %d"
          % (delta, st["duplicated"], st["matched"]))
    # Segments over 65531 bytes (loopback's 64 KiB MTU) cannot be copied
    # whole through NFQUEUE; they count as duplicate_failed.
    check(st["duplicated"] > 0, "counters %s" % st)
    check(delta > 0, "the TCP receiver saw no duplicate")


def test_hold_blocks_then_delivers_every_byte(ns):
    r = Redis(ns)
    shim = Shim(ns, TCP_RULE + "hold = yes\nstart = manual\n")
    c = r.connect(CLIENT, timeout=60)
    check(c.command("PING") == "PONG", "PING before hold")
    shim.ctl("on", "f")
    value = bytes((i * 7) & 255 for i in range(1 << 16)) * 64  # 4 MiB
    result = {}

    def writer():
        try:
            result["reply"] = c.command("SET", "held", value)
            result["t"] = time.monotonic()
        except Exception as e:  # reported by the main thread
            result["error"] = repr(e)

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(1.5)
    a = r.connect(ADMIN)
    check(a.command("EXISTS", "held") == 0, "the key arrived while held")
    check("reply" not in result, "SET returned while held")
    st = shim.stats()["rules"]["f"]
    check(st["held_now"] > 0, "nothing held: %s" % st)
    t_off = time.monotonic()
    shim.ctl("off", "f")
    t.join(30)
    check(result.get("reply") == "OK", "SET after release: %s" % result)
    got = a.command("GET", "held")
    print("  held %d packets (max %d) for 1.5 s; SET completed %.0f ms after release; "
          "sha256 sent %s.. = arrived %s.." % (st["held_now"], st["max_held"],
                                                (result["t"] - t_off) * 1000,
                                                sha(value)[:12], sha(got)[:12]))
    check(sha(got) == sha(value), "bytes differ after hold")
    st = shim.stats()["rules"]["f"]
    check(st["held_now"] == 0 and st["dropped"] == 0, "after off: %s" % st)
    check(shim.stop() == 0, "shim exit status")


def test_partition_blocks_both_ways(ns):
    r = Redis(ns)
    shim = Shim(ns, TCP_RULE.replace("[rule f]", "[rule f]\ndirection = both")
                + "loss = 100%\nstart = manual\n")
    c = r.connect(CLIENT)
    check(c.command("PING") == "PONG", "PING before partition")
    shim.ctl("on", "f")
    c.settimeout(1.0)
    blocked = False
    try:
        c.command("PING")
    except OSError:
        blocked = True
    check(blocked, "PING went through a 100% loss partition")
    try:
        r.connect(CLIENT, timeout=1.0)
        check(False, "a new connection went through the partition")
    except OSError:
        pass
    check(r.connect(ADMIN).command("PING") == "PONG", "the partition hit an unrelated client")
    shim.ctl("off", "f")
    c.settimeout(10)
    t = time.monotonic()
    check(c.reply() == "PONG", "the PING sent during the partition never completed")
    print("  partitioned PING completed %.0f ms after the partition ended (TCP retransmit); "
          "dropped %d" % ((time.monotonic() - t) * 1000, shim.stats()["rules"]["f"]["dropped"]))
    check(r.connect(CLIENT).command("PING") == "PONG", "new connection after partition")
    check(shim.stop() == 0, "shim exit status")


def test_rate_limit_spaces_packets(ns):
    n, size = 200, 1222  # 1250-byte IP packets
    shim = Shim(ns, UDP_RULE + "rate = 8mbit\n")
    res = udp_run(ns, n, size=size, pps=0)
    expect = (n - 1) * 1250 * 8 / 8e6 * 1000
    print("  %d packets of 1250 B at 8 mbit/s arrived over %.1f ms (expected %.1f ms)"
          % (n, res["span_ms"], expect))
    check(res["lost"] == 0, "rate limit lost packets")
    check(abs(res["span_ms"] - expect) <= 0.05 * expect, "span %.1f ms" % res["span_ms"])
    check(shim.stop() == 0, "shim exit status")
