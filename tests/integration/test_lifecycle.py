"""rift-shim as a process: bad policies, the control socket, schedules,
replay by seed, capture, stopping, SIGKILL and --cleanup. Each test lists
what is left (iptables-save, processes, files)."""
import json
import os
import signal
import subprocess
import time

import lib
from lib import (ADMIN, CLIENT, NODE, PORT, PROBE, SHIM, Redis, Shim, check, median,
                 ping_rtts, wait_for)
from test_faults import TCP_RULE, UDP_RULE, udp_run


def test_bad_policy_exits_2_with_file_line_and_installs_nothing(ns):
    rules = TCP_RULE + "delay = 20ms\nreorder = 5%\njitter = 30ms\n"
    shim = Shim(ns, rules, expect_fail=True)
    rc = shim.proc.wait(10)
    err = shim.stderr()
    # policy: [shim] 3 lines, 2 nodes x 2 lines, then the rule: jitter on line 14
    check(rc == 2, "exit status %d" % rc)
    check(err.startswith("%s:14: " % shim.policy), "error was: " + err)
    check("uniform jitter larger than the delay" in err, "error was: " + err)
    check(ns.iptables_rift() == [], "rules installed: %s" % ns.iptables_rift())
    check(not os.path.exists(shim.sock), "control socket created")
    print("  " + err.strip())


def test_check_flag_validates_without_root_effects(ns):
    path = os.path.join(ns.tmp, "p.ini")
    with open(path, "w") as f:
        f.write(lib.policy_text(TCP_RULE + "loss = 5%\n"))
    r = ns.run([SHIM, "--check", "--policy", path])
    check(r.returncode == 0 and "ok: 2 nodes, 1 rules" in r.stdout, r.stdout + r.stderr)
    with open(path, "a") as f:
        f.write("bogus = 1\n")
    r = ns.run([SHIM, "--check", "--policy", path])
    check(r.returncode == 2 and ":11: unknown key 'bogus'" in r.stderr, r.stderr)


def test_control_socket_commands(ns):
    r = Redis(ns)
    c = r.connect(CLIENT)
    shim = Shim(ns, TCP_RULE + "delay = 5ms\nstart = manual\n")
    st = shim.stats()
    for key in ("uptime_ms", "seed", "packets", "unmatched", "queue_overflows", "rules"):
        check(key in st, "stats lacks %s" % key)
    for key in ("matched", "passed", "delayed", "dropped", "reordered", "duplicated",
                "held_now", "max_held", "queue_overflows"):
        check(key in st["rules"]["f"], "rule stats lack %s" % key)
    check(st["seed"] == 42 and st["rules"]["f"]["active"] is False, "stats %s" % st)
    shim.ctl("on", "f")
    m5 = median(ping_rtts(c, 30))
    shim.ctl("set", "f", "delay", "40ms")
    m40 = median(ping_rtts(c, 20))
    print("  PING %.1f ms with delay 5ms, %.1f ms after set delay 40ms" % (m5, m40))
    check(4.5 < m5 < 7 and 39.5 < m40 < 43, "set did not change the delay")
    bad = shim.ctl("on", "nope", ok=False)
    check(bad.returncode == 1 and "error: no rule 'nope'" in bad.stdout, bad.stdout)
    bad = shim.ctl("set", "f", "from", "cl", ok=False)
    check(bad.returncode == 1 and "cannot change" in bad.stdout, bad.stdout)
    bad = shim.ctl("set", "f", "reorder", "10%", ok=True)  # delay is set: valid
    bad = shim.ctl("set", "f", "jitter", "90ms", ok=False)
    check(bad.returncode == 1 and "jitter" in bad.stdout, bad.stdout)
    bad = shim.ctl("dance", ok=False)
    check(bad.returncode == 1 and "unknown request" in bad.stdout, bad.stdout)
    gone = ns.run([SHIM, "ctl", os.path.join(ns.tmp, "nothing.sock"), "stats"])
    check(gone.returncode == 2 and "cannot connect" in gone.stderr, gone.stderr)
    shim.ctl("quit")
    check(shim.proc.wait(10) == 0, "quit did not exit 0")
    check(ns.iptables_rift() == [], "rules left after quit")


def test_start_after_delay_with_duration(ns):
    r = Redis(ns)
    c = r.connect(CLIENT)
    shim = Shim(ns, TCP_RULE + "delay = 20ms\nstart = 1s\nduration = 1s\n")
    t0 = time.monotonic()
    samples = []
    while time.monotonic() - t0 < 3.0:
        t = time.monotonic()
        c.command("PING")
        samples.append((t - t0, (time.monotonic() - t) * 1000))
        time.sleep(0.01)
    slow = [t for t, rtt in samples if rtt > 15]
    check(slow, "the rule never started")
    print("  delayed PINGs from %.2f s to %.2f s after start (rule: start 1s, duration 1s)"
          % (slow[0], slow[-1]))
    check(0.85 <= slow[0] <= 1.2, "started at %.2f s" % slow[0])
    check(1.85 <= slow[-1] <= 2.2, "ended at %.2f s" % slow[-1])
    check(not shim.stats()["rules"]["f"]["active"], "rule still on after its duration")
    check(shim.stop() == 0, "exit status")


def test_same_seed_same_decisions(ns):
    prints = []
    for seed in (7, 7, 8):
        shim = Shim(ns, UDP_RULE + "loss = 30%\nloss_correlation = 25%\n", seed=seed)
        res = udp_run(ns, 3000)
        prints.append((res["fingerprint"], res["lost"]))
        check(shim.stop() == 0, "exit status")
    print("  seed 7: %s (%d lost), seed 7 again: %s (%d lost), seed 8: %s (%d lost)"
          % (prints[0] + prints[1] + prints[2]))
    check(prints[0] == prints[1], "same seed, different datagrams lost")
    check(prints[0][0] != prints[2][0], "different seeds lost the same datagrams")


def test_capture_writes_pcap_and_event_log(ns):
    r = Redis(ns)
    pcap = os.path.join(ns.tmp, "out", "shim.pcap")
    os.makedirs(os.path.dirname(pcap))
    shim = Shim(ns, TCP_RULE + "delay = 2ms\n", shim_extra="capture = %s\n" % pcap)
    c = r.connect(CLIENT)
    ping_rtts(c, 20)
    c.close()
    time.sleep(0.1)
    total = shim.stats()["packets"]
    check(shim.stop() == 0, "exit status")
    out = subprocess.run(["tcpdump", "-nn", "-r", pcap], capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    check(len(lines) == total, "pcap has %d packets, shim saw %d" % (len(lines), total))
    check(all("127.0.0.20" in l and "7000" in l for l in lines), "unexpected packet in pcap")
    events = [json.loads(l) for l in open(pcap.replace(".pcap", ".events.jsonl"))]
    kinds = {}
    for e in events:
        check({"t", "rule", "pkt", "decision"} <= set(e), "event lacks fields: %s" % e)
        kinds[e["decision"]] = kinds.get(e["decision"], 0) + 1
    print("  %d packets in the pcap; events: %s" % (len(lines), kinds))
    check(kinds.get("delay", 0) >= 20 and kinds.get("release", 0) == kinds.get("delay"),
          "events %s" % kinds)


def test_sigint_releases_held_packets_and_removes_rules(ns):
    r = Redis(ns)
    shim = Shim(ns, TCP_RULE + "hold = yes\nstart = manual\n")
    c = r.connect(CLIENT, timeout=10)
    shim.ctl("on", "f")
    c.send("SET", "k", "v" * 100000)
    wait_for(lambda: shim.stats()["rules"]["f"]["held_now"] > 0, 5, "held packets")
    check(ns.iptables_rift() != [], "no rules while running")
    rc = shim.stop(signal.SIGINT)
    err = shim.stderr()
    check(rc == 0, "exit status %d" % rc)
    check("max_held" in err and "matched" in err, "no counters printed: " + err)
    check(c.reply() == "OK", "the held SET did not complete after the shim stopped")
    left = ns.iptables_rift()
    check(left == [], "rules left: %s" % left)
    check(not os.path.exists(shim.sock), "control socket left")
    print("  " + err.strip().splitlines()[-1])


def test_sigkill_traffic_flows_then_cleanup_removes_rules(ns):
    r = Redis(ns)
    c = r.connect(CLIENT)
    shim = Shim(ns, TCP_RULE + "delay = 10ms\n")
    check(median(ping_rtts(c, 5)) > 9, "delay not applied")
    shim.proc.kill()
    shim.proc.wait()
    check(ns.iptables_rift() != [], "rules vanished without cleanup")
    # --queue-bypass: with nobody on the queue, packets pass.
    m = median(ping_rtts(c, 10))
    check(m < 5, "traffic after SIGKILL takes %.1f ms" % m)
    r2 = ns.run([SHIM, "--cleanup"])
    check(r2.returncode == 0 and "removed 1 rift chain" in r2.stderr, r2.stderr)
    check(ns.iptables_rift() == [], "left after --cleanup: %s" % ns.iptables_rift())
    # A new shim starts over the stale control socket file.
    shim2 = Shim(ns, TCP_RULE + "delay = 10ms\n")
    check(median(ping_rtts(c, 5)) > 9, "second shim not working")
    check(shim2.stop() == 0, "second shim exit status")
    check(ns.iptables_rift() == [], "left after second shim")
    print("  PING %.3f ms after SIGKILL (bypass); --cleanup: %s" % (m, r2.stderr.strip()))


def test_second_shim_on_same_queue_is_refused(ns):
    r = Redis(ns)
    c = r.connect(CLIENT)
    first = Shim(ns, TCP_RULE + "delay = 10ms\n")
    second = Shim(ns, TCP_RULE + "delay = 10ms\n", expect_fail=True)
    rc = second.proc.wait(10)
    err = second.stderr()
    check(rc == 2, "second shim exit status %d" % rc)
    check("in use" in err or "cannot bind NFQUEUE 0" in err, err)
    check(median(ping_rtts(c, 5)) > 9, "first shim disturbed")
    check(first.stop() == 0, "first shim exit status")
    check(ns.iptables_rift() == [], "rules left")


def test_queue_spread_holds_more_than_one_kernel_queue(ns):
    n = 80000
    shim = Shim(ns, UDP_RULE + "hold = yes\nstart = manual\n",
                shim_extra="queues = 2\nqueue_maxlen = 65536\n")
    recv = ns.popen([PROBE, "recv", "%s:%d" % (NODE, PORT), str(n), "5000"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(recv.stderr.readline().strip() == "ready", "receiver")
    shim.ctl("on", "f")
    ns.run([PROBE, "send", CLIENT, "%s:%d" % (NODE, PORT), str(n), "64", "100000"])
    wait_for(lambda: shim.stats()["rules"]["f"]["held_now"] >= n, 30, "%d held" % n)
    st = shim.stats()
    shim.ctl("off", "f")
    res = json.loads(recv.communicate(timeout=60)[0])
    print("  held %d packets over 2 queues (one queue keeps at most 65536); delivered %d, "
          "%d out of order, %d overflows" % (st["rules"]["f"]["held_now"], res["unique"],
                                             res["out_of_order"], st["queue_overflows"]))
    check(st["queue_overflows"] == 0, "overflows")
    check(res["unique"] == n and res["out_of_order"] == 0, "release: %s" % res)
    check(shim.stop() == 0, "exit status")


def test_set_hold_no_releases_held_packets_in_order(ns):
    r = Redis(ns)
    shim = Shim(ns, TCP_RULE + "hold = yes\nstart = manual\n")
    c = r.connect(CLIENT, timeout=10)
    shim.ctl("on", "f")
    c.send("SET", "k", "x" * 200000)
    wait_for(lambda: shim.stats()["rules"]["f"]["held_now"] > 0, 5, "held packets")
    shim.ctl("set", "f", "hold", "no")
    check(c.reply() == "OK", "SET did not complete after set hold no")
    st = shim.stats()["rules"]["f"]
    check(st["held_now"] == 0 and st["active"], "after set hold no: %s" % st)
    check(r.connect(ADMIN).command("STRLEN", "k") == 200000, "value incomplete")
    check(shim.stop() == 0, "exit status")
