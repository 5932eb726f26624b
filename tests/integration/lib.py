"""Helpers for rift's root integration tests: a private network namespace,
real redis-server processes, rift-shim under a policy, probes. Everything a
test starts is registered and removed when the test ends, by PID."""
import ctypes
import hashlib
import json
import math
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHIM = os.path.join(ROOT, "bin", "rift-shim")
PROBE = os.path.join(ROOT, "build", "bench", "udp-probe")
BASELINE = os.path.join(ROOT, "build", "bench", "baseline-accept")

NODE = "127.0.0.11"
PORT = 7000
CLIENT = "127.0.0.20"
ADMIN = "127.0.0.30"   # never named in a rule: observes without being disturbed


CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def wait_for(pred, timeout, what, interval=0.01):
    """Poll pred() until true, at most timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TestFailure("timed out after %.1f s waiting for %s" % (timeout, what))


def binomial_interval(n, p, z=2.576):
    """99% normal-approximation interval for the count of successes."""
    sd = math.sqrt(n * p * (1 - p))
    return n * p - z * sd, n * p + z * sd


class Netns:
    """A network namespace of our own, with lo up; 127.0.0.0/8 is private."""

    def __init__(self, tag):
        self.name = "rift-t%d-%s" % (os.getpid(), tag)
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="rift-test-")
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.run(["ip", "link", "set", "lo", "up"], check=True)
        # The harness's own stateless tools in the namespace:
        self.enter_fd = os.open("/run/netns/" + self.name, os.O_RDONLY)

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def run(self, argv, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self.cmd(argv), **kw)

    def popen(self, argv, **kw):
        p = subprocess.Popen(self.cmd(argv), **kw)
        self.procs.append(p)
        return p

    def socket(self, *args):
        """A socket created inside the namespace (setns in a helper thread)."""
        result = {}

        def make():
            if _libc.setns(self.enter_fd, CLONE_NEWNET) != 0:
                result["err"] = OSError(ctypes.get_errno(), "setns")
                return
            result["s"] = socket.socket(*args)

        t = threading.Thread(target=make)
        t.start()
        t.join()
        if "err" in result:
            raise result["err"]
        return result["s"]

    def nstat(self, *names):
        out = self.run(["nstat", "-az", "--json"]).stdout
        data = json.loads(out)
        kernel = data.get("kernel", data)
        return {n: int(kernel.get(n, 0)) for n in names}

    def iptables_rift(self):
        out = self.run(["iptables-save"]).stdout
        return [l for l in out.splitlines() if "RIFT" in l or "rift:" in l]

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        os.close(self.enter_fd)
        subprocess.run(["ip", "netns", "del", self.name])
        subprocess.run(["rm", "-rf", self.tmp])


class Redis:
    def __init__(self, ns, ip=NODE, port=PORT):
        self.ns, self.ip, self.port = ns, ip, port
        d = os.path.join(ns.tmp, "redis-%s-%d" % (ip, port))
        os.makedirs(d)
        self.proc = ns.popen(["redis-server", "--bind", ip, "--port", str(port),
                              "--protected-mode", "no", "--save", "", "--appendonly", "no",
                              "--dir", d, "--logfile", os.path.join(d, "log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._ready, 10, "redis-server on %s:%d" % (ip, port))

    def _ready(self):
        try:
            c = self.connect(ADMIN, timeout=0.5)
            ok = c.command("PING") == "PONG"
            c.close()
            return ok
        except OSError:
            return False

    def connect(self, src, timeout=5.0):
        return RespClient(self.ns, src, self.ip, self.port, timeout)


class RespClient:
    """A tiny RESP client bound to its own source address, so rules can
    select its traffic by address."""

    def __init__(self, ns, src, ip, port, timeout):
        self.s = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.bind((src, 0))
        self.s.settimeout(timeout)
        self.s.connect((ip, port))
        self.buf = b""

    def settimeout(self, t):
        self.s.settimeout(t)

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise OSError("connection closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            d = self.s.recv(1 << 20)
            if not d:
                raise OSError("connection closed")
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise OSError("bad reply %r" % line)

    def command(self, *args):
        self.send(*args)
        return self.reply()

    def close(self):
        self.s.close()


def ping_rtts(client, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        check(client.command("PING") == "PONG", "PING did not return PONG")
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def policy_text(rules, shim_extra="", nodes=None):
    nodes = nodes or {"r1": NODE + ":%d" % PORT, "cl": CLIENT}
    s = "[shim]\n" + shim_extra
    for name, addr in nodes.items():
        s += "[node %s]\naddr = %s\n" % (name, addr)
    return s + rules


class Shim:
    def __init__(self, ns, rules, shim_extra="", seed=42, nodes=None, expect_fail=False,
                 extra_args=(), sock="shim.sock"):
        self.ns = ns
        self.sock = os.path.join(ns.tmp, sock)
        self.policy = os.path.join(ns.tmp, "policy-%d.ini" % len(ns.procs))
        extra = "seed = %d\ncontrol = %s\n" % (seed, self.sock) + shim_extra
        with open(self.policy, "w") as f:
            f.write(policy_text(rules, extra, nodes))
        self.err_path = self.policy + ".stderr"
        self.errf = open(self.err_path, "w")
        prefix = os.environ.get("RIFT_SHIM_PREFIX", "").split()
        self.proc = ns.popen(prefix + [SHIM, "--policy", self.policy] + list(extra_args),
                             stdout=subprocess.DEVNULL, stderr=self.errf)
        if expect_fail:
            return
        wait_for(lambda: "rift-shim: ready" in self.stderr() or self.proc.poll() is not None,
                 10, "rift-shim to be ready")
        check(self.proc.poll() is None, "rift-shim exited: " + self.stderr())

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def ctl(self, *words, ok=True):
        r = self.ns.run([SHIM, "ctl", self.sock] + [str(w) for w in words])
        if ok:
            check(r.returncode == 0, "ctl %s failed (%d): %s %s" % (
                " ".join(map(str, words)), r.returncode, r.stdout, r.stderr))
        return r

    def stats(self):
        return json.loads(self.ctl("stats").stdout)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.errf.close()
        return rc


def shim_pids():
    """Running rift-shim processes (zombies are gone in all but name)."""
    out = subprocess.run(["pgrep", "-x", "rift-shim"], capture_output=True, text=True).stdout
    pids = []
    for x in out.split():
        try:
            state = [l for l in open("/proc/%s/status" % x) if l.startswith("State:")][0]
        except (OSError, IndexError):
            continue
        if "Z" not in state.split()[1]:
            pids.append(int(x))
    return pids


def sha(b):
    return hashlib.sha256(b).hexdigest()
