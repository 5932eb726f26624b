"""What rift promises its callers: it never signals anything it did not
start (a step on a node that is down is skipped, never kill(0)), its own
trouble (a missing library or server, a probe that dies) is an error with
exit status 2 and never a finding, and `rift cleanup` after SIGKILL stops
every process a run started, probes included."""
import glob
import json
import random
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
    os.makedirs(os.path.join(root, "harness", "scenarios"))  # a source tree's layout
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
    for want in ("server valkey", "run `rift fetch valkey` (or `make server-trixie`)",
                 "npm package ioredis for probe ioredis", "redis-py 6 for probe redis-py-6",
                 "run `rift fetch clients` (or `make clients`)"):
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


def raw_pcap(path, segments):
    """A pcap (LINKTYPE_RAW) of TCP segments [(src, sport, dst, dport, seq, payload)]."""
    import socket as s
    import struct

    def csum(b):
        if len(b) % 2:
            b += b"\0"
        t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while t >> 16:
            t = (t & 0xffff) + (t >> 16)
        return ~t & 0xffff

    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101)
    for i, (src, sport, dst, dport, seq, payload) in enumerate(segments):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), i, 0, 64, 6,
                         0, s.inet_aton(src), s.inet_aton(dst))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        pkt = ip + tcp + payload
        out += struct.pack("<IIII", 1700000000 + i, 0, len(pkt), len(pkt)) + pkt
    with open(path, "wb") as f:
        f.write(out)


def test_reports_parse_with_hostile_paths_and_wire_bytes(ns):
    import xml.etree.ElementTree as ET
    # A cluster-bus PING whose sender id, replica-of id and ip string hold
    # quotes, backslashes, newlines, control bytes and invalid UTF-8.
    msg = bytearray(open(os.path.join(lib.ROOT, "tests", "unit", "data",
                                      "bus-7.0.15-ping.bin"), "rb").read())
    hostile = b'"\\\n\x01<&>\xff\xfe' + b"a" * 40
    msg[40:80] = hostile[:40]
    msg[2128:2168] = hostile[:40]
    msg[2168:2214] = (b'1.2.3.4"}\n,{"x":\x00' + b"\x1b\xc3" * 20)[:46]
    pcap = os.path.join(ns.tmp, "hostile.pcap")
    raw_pcap(pcap, [("127.0.0.11", 17000, "127.0.0.12", 40000, 1000, bytes(msg)),
                    ("127.0.0.11", 17000, "127.0.0.12", 40000, 1000 + len(msg), bytes(msg))])
    r = subprocess.run([RIFT, "decode", pcap, "--json"], capture_output=True)
    lines = r.stdout.decode("utf-8").splitlines()   # strict: must be valid UTF-8
    decoded = [json.loads(l) for l in lines]
    print("  rift decode --json: %d messages; sender %r" % (len(decoded),
                                                           decoded[0]["sender"][:12]))
    check(r.returncode == 0 and len(decoded) == 2, r.stderr)
    # the decoder keeps printable bytes (others become '?'); quotes and
    # backslashes must survive as data
    check(decoded[0]["sender"].startswith('"\\') and "<&>" in decoded[0]["sender"],
          decoded[0]["sender"])
    check(decoded[0]["sender_addr"].startswith('1.2.3.4"}'), decoded[0]["sender_addr"])
    text = subprocess.run([RIFT, "decode", pcap], capture_output=True)
    tlines = text.stdout.decode("ascii").splitlines()
    check(len(tlines) == 2 and all(" PING " in l for l in tlines), tlines)

    # A report under a path with quotes, markup, a newline, control and
    # non-UTF-8 bytes, with a failing check (a cycle expected but absent).
    d = os.path.join(ns.tmp.encode(), b'we"ird <&\'>\n\x01\xff dir')
    os.makedirs(d)
    scn = os.path.join(d, b"s.ini")
    with open(scn, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 0\n[timeline]\n0.5s = wait converged\n"
                "[expect]\ncycles = present\n")
    report = os.path.join(d, b"report")
    r = subprocess.run([RIFT.encode(), b"run", scn, b"--report", report], capture_output=True,
                       timeout=120)
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr[-2000:]))
    rep = json.loads(open(os.path.join(report, b"report.json"), "rb").read().decode("utf-8"))
    check(rep["scenario"].endswith("<&'>\n\x01\ufffd dir/s.ini"), rep["scenario"])
    check(rep["verdict"] == "fail", rep["verdict"])
    junit = ET.parse(os.path.join(report, b"junit.xml")).getroot()
    fails = [tc for tc in junit if tc.find("failure") is not None]
    check(junit.get("failures") == "1" and len(fails) == 1 and
          fails[0].get("name") == "cycles", ET.tostring(junit)[:500])
    check("we\"ird <&'>\n\ufffd\ufffd dir" in fails[0].get("classname"),
          fails[0].get("classname"))
    page = ET.parse(os.path.join(report, b"report.html")).getroot()
    h = "{http://www.w3.org/1999/xhtml}"
    title = "".join(page.find(h + "body").find(h + "h1").itertext())
    check("we\"ird <&'>\n\ufffd\ufffd dir/s.ini" in title, title)
    code = "".join(page.find(".//%scode[@id='replay']" % h).itertext())
    # the path as bash's $'...' quoting writes it: a quote, a newline and a control byte escaped
    check(code.startswith("rift run $'/") and "we\"ird <&\\'>\\x0a\\x01" in code, code)
    views = [json.loads(l) for l in open(os.path.join(report, b"views.jsonl"), "rb")]
    print("  report.json, junit.xml, report.html and %d views parse under %r" % (len(views),
                                                                           d[-20:]))
    check(len(views) > 10, len(views))
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def overflow_run(ns, mode):
    """Hold 300 UDP datagrams with a kernel queue of 100: the queue fills."""
    shim = lib.Shim(ns, "[rule f]\nfrom = cl\nto = r1\nports = client\nproto = udp\n"
                        "hold = yes\nstart = manual\n",
                    shim_extra="queue_maxlen = 100\non_overflow = %s\n" % mode)
    shim.ctl("on", "f")
    recv = ns.popen([lib.PROBE, "recv", "%s:%d" % (lib.NODE, lib.PORT), "300", "4000"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(recv.stderr.readline().strip() == "ready", "udp receiver did not start")
    r = ns.run([lib.PROBE, "send", lib.CLIENT, "%s:%d" % (lib.NODE, lib.PORT), "300", "64",
                "5000"])
    check(r.returncode == 0, r.stderr)
    time.sleep(0.5)
    during = shim.stats()
    shim.ctl("off", "f")
    out, _ = recv.communicate(timeout=30)
    got = json.loads(out)
    shim.stop()
    return during, got, shim.stderr()


def test_queue_overflow_is_counted_never_silent(ns):
    st, got, err = overflow_run(ns, "pass")
    rule = st["rules"]["f"]
    print("  on_overflow = pass: held %d, queue full %d time(s) for %d ms; the receiver got "
          "%d of 300" % (rule["held_now"], st["queue_full"], st["queue_full_ms"],
                         got["unique"]))
    check(rule["held_now"] == 100 and st["queue_full"] == 1 and st["queue_full_ms"] >= 400,
          "stats %s" % st)
    # 200 passed unheld while the queue was full, then the 100 held ones.
    check(got["unique"] == 300, got)
    check("queue 0 is full (100 packets waiting): what arrives now passes" in err, err)
    check("queue full 1 time for" in err, err)

    st, got, err = overflow_run(ns, "drop")
    print("  on_overflow = drop: held %d, kernel dropped %d, queue full %d; the receiver got "
          "%d of 300" % (st["rules"]["f"]["held_now"], st["queue_overflows"],
                         st["queue_full"], got["unique"]))
    check(st["queue_overflows"] == 200 and st["queue_full"] == 1, "stats %s" % st)
    check(got["unique"] == 100, got)
    check("200 queue overflows, queue full 1 time" in err, err)


def test_run_with_a_full_shim_queue_is_invalid_not_a_verdict(ns):
    # Everything m1 receives on the bus is held for 3 s, with room for 16
    # packets in the kernel's queue: it fills, and with on_overflow = pass
    # the rest reaches m1 unheld. The run goes on but cannot give a verdict.
    path = os.path.join(ns.tmp, "full.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 1\n[shim]\nqueue_maxlen = 16\n"
                "on_overflow = pass\n[fault cut]\nfrom = *\nto = m1\nports = bus\nhold = yes\n"
                "[timeline]\n0.5s = fault cut on\n3.5s = fault cut off\n"
                "4.0s = wait converged\n")
    report = os.path.join(ns.tmp, "report")
    r, secs = rift_run(path, report)
    rep = json.load(open(os.path.join(report, "report.json")))
    print("  exit %d in %.1f s; verdict %s; %s" % (r.returncode, secs, rep["verdict"],
                                                   rep.get("invalid")))
    check(r.returncode == 2 and rep["verdict"] == "invalid", "exit %d: %s" % (r.returncode,
                                                                         r.stdout))
    check(rep["shim"]["queue_full"] >= 1 and rep["shim"]["queue_full_ms"] > 0, rep["shim"])
    check(rep["shim"]["rules"]["cut"]["max_held"] >= 15, rep["shim"]["rules"]["cut"])
    check("kernel queue (queue_maxlen 16) was full" in rep["invalid"] and
          "on_overflow = pass" in rep["invalid"],
          rep["invalid"])
    check("invalid: faults not applied in full" in r.stdout and "verdict: invalid" in r.stdout,
          r.stdout)
    check([c["name"] for c in rep["checks"]][:2] == ["cycles", "lost_slots"], rep["checks"])
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


BAD_SCENARIOS = [
    # (name, text, line, words in the message)
    ("unknown-key", "[cluster]\nmasters = 3\nbogus = 1\n", 3, "unknown key 'bogus'"),
    ("bad-time", "[cluster]\n[timeline]\n1x = failover m1r1\n", 3, "bad time '1x'"),
    ("unknown-node", "[cluster]\n[timeline]\n1s = kill m9\n", 3, "unknown node 'm9'"),
    ("fault-declared-below", "[cluster]\n[timeline]\n1s = fault late on\n[fault late]\n"
     "from = m1\nto = m2\ndelay = 1ms\n", 3, "declared below, on line 4"),
    ("unknown-fault", "[cluster]\n[timeline]\n1s = fault nosuch on\n", 3,
     "no [fault nosuch]"),
    ("node-past-topology", "[cluster]\nmasters = 2\nreplicas = 1\n[timeline]\n"
     "1s = kill m3r1\n", 5, "unknown node 'm3r1' (this cluster has m1..m2, m1r1..m2r1)"),
    ("replica-past-topology", "[cluster]\nmasters = 3\nreplicas = 1\n[timeline]\n"
     "1s = failover m1r2\n", 5, "unknown node 'm1r2'"),
    ("duplicated-section", "[cluster]\nmasters = 3\n[check]\n[cluster]\n", 4,
     "[cluster] is given twice (first on line 1)"),
    ("duplicated-fault", "[fault a]\nfrom = m1\nto = m2\nloss = 1%\n[fault a]\n", 5,
     "fault 'a' is declared twice"),
    ("binary-junk", None, 1, None),
    ("empty", "", 1, "the file is empty"),
    ("ten-megabytes", "[cluster]\n" + "; padding\n" * ((10 << 20) // 10), 1,
     "a scenario file is at most 1024 KiB"),
]


def test_bad_scenarios_exit_2_with_file_line_and_start_nothing(ns):
    rng = random.Random(7)
    for name, text, line, words in BAD_SCENARIOS:
        path = os.path.join(ns.tmp, name + ".ini")
        with open(path, "wb") as f:
            if text is None:
                f.write(bytes([rng.choice([0, 1, 0xff, 0x5b, 0x0a, 0x3d, 0x80])
                               for _ in range(4096)]))
            else:
                f.write(text.encode())
        size = os.path.getsize(path)
        t = time.monotonic()
        r = subprocess.run([RIFT, "run", path], capture_output=True, text=True,
                           errors="replace", timeout=30)
        secs = time.monotonic() - t
        first = r.stderr.splitlines()[0] if r.stderr else ""
        print("  %-22s %8d bytes: exit %d in %.2f s: %s" % (name, size, r.returncode, secs,
                                                            first[len(ns.tmp) + 1:][:110]))
        check(r.returncode == 2, "%s: exit %d\n%s" % (name, r.returncode, r.stderr[-2000:]))
        check(first.startswith("%s:%d: " % (path, line)), "%s: %r" % (name, first))
        check(words is None or words in first, "%s: %r lacks %r" % (name, first, words))
        # what the file held is quoted escaped: one printable line
        check(all(32 <= ord(c) < 127 for c in first), "%s: not escaped: %r" % (name, first))
        check(len(r.stderr.splitlines()) == 1, "%s: %r" % (name, r.stderr))
        check(rift_leftovers() == [], "%s: left behind: %s" % (name, rift_leftovers()))
    check(not os.path.exists("/run/rift/runs") or os.listdir("/run/rift/runs") == [],
          "a run registered")


def test_sigkill_of_rift_matrix_then_cleanup_leaves_nothing(ns):
    # rift matrix keeps the runs' reports in a temp dir of its own when no
    # --report is given; killed, it and its current run leave it behind.
    m = subprocess.Popen([RIFT, "matrix", os.path.join(SCN, "baseline.ini"), "--servers",
                          "redis", "--runs", "1"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: len(registered()) >= 6, 60, "the matrix's run to start its servers")
    tmp = [d for d in os.listdir("/tmp") if d.startswith("rift-matrix-")]
    owner = int(open(glob.glob("/run/rift/runs/*/owner")[0]).read().split()[0])
    m.kill()
    m.wait()
    os.kill(owner, signal.SIGKILL)  # the `rift run` the matrix had started
    wait_for(lambda: proc_state(owner) in (None, "Z"), 10, "the run to die")
    before = rift_leftovers()
    r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True)
    print("  left by the kill: %s; %s" % (before, " / ".join(r.stdout.strip().splitlines())))
    check(len(tmp) == 1 and "/tmp/" + tmp[0] in before, "no matrix temp dir: %s" % before)
    check("removed /tmp/%s (its rift matrix is gone)" % tmp[0] in r.stdout, r.stdout)
    check(rift_leftovers() == [], "left after cleanup: %s" % rift_leftovers())


def test_cleanup_leaves_a_users_folder_named_like_a_matrix_dir(ns):
    # `rift matrix --report /tmp/rift-matrix-results` is the user's folder:
    # no owner marker, so `rift cleanup` must not touch it.
    d = "/tmp/rift-matrix-results-%d" % os.getpid()
    os.makedirs(d)
    try:
        with open(os.path.join(d, "matrix.json"), "w") as f:
            f.write("{}")
        r = subprocess.run([RIFT, "cleanup"], capture_output=True, text=True)
        check(r.returncode == 0, r.stderr)
        check(os.path.exists(os.path.join(d, "matrix.json")), "cleanup removed %s" % d)
        print("  %s kept: %s" % (d, r.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_restart_right_after_kill_waits_for_the_old_server(ns):
    path = os.path.join(ns.tmp, "kr.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 1\n[timeline]\n0.5s = kill m2r1\n"
                "0.5s = restart m2r1\n1.0s = wait converged\n[check]\nconverge_within = 15s\n")
    report = os.path.join(ns.tmp, "report")
    r, secs = rift_run(path, report)
    rep = json.load(open(os.path.join(report, "report.json")))
    checks = {c["name"]: c for c in rep["checks"]}
    print("  kill and restart at the same moment: exit %d in %.1f s; crashes %s" % (
        r.returncode, secs, checks["crashes"]["detail"]))
    check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    check(checks["crashes"]["status"] == "pass" and checks["convergence"]["status"] == "pass",
          checks)
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_a_shim_that_dies_is_an_error_naming_why(ns):
    path = os.path.join(ns.tmp, "shim-dies.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 0\n[fault f]\nfrom = m1\nto = m2\n"
                "delay = 1ms\n[timeline]\n3s = fault f on\n4s = wait converged\n")
    report = os.path.join(ns.tmp, "report")
    p = subprocess.Popen([RIFT, "run", path, "--report", report], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_for(lambda: [x for x, _, role in registered() if role == "shim"], 60, "the shim")
    time.sleep(0.5)
    os.kill([x for x, _, role in registered() if role == "shim"][0], signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    rep = json.load(open(os.path.join(report, "report.json")))
    print("  exit %d: %s" % (p.returncode, rep.get("error")))
    check(p.returncode == 2 and rep["verdict"] == "error", "exit %d: %s" % (p.returncode, err))
    check("rift-shim: on f: cannot connect to" in rep["error"], rep["error"])
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())
