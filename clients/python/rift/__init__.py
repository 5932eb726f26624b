"""rift for Python test suites: a cluster a test drives step by step.

    cluster = rift.up("failover-pong-race.ini", report="out/r")
    cluster.enter()                       # this thread now reaches the nodes
    rc = redis.cluster.RedisCluster(host=cluster.nodes[0]["addr"].split(":")[0],
                                    port=7000, password=cluster.password)
    cluster.fault("a-to-c", True); cluster.failover("m1r1")
    assert cluster.wait_converged("20s")
    assert not cluster.check("cycles").seen
    result = cluster.down()               # verdict, report, cleanup: rift run's end

It speaks the line protocol of `rift up`'s control socket (docs/live.md)
and nothing else: every request has a timeout, an "error: ..." reply is a
RiftError (nothing of the request was applied), a "fail ..." reply is a
False or a Reply with ok False."""
import ctypes
import json
import os
import socket
import subprocess

__all__ = ["up", "Cluster", "Check", "Result", "Reply", "RiftError"]

CLONE_NEWNET = 0x40000000


def _seconds(d):
    """A duration as rift takes it ("500ms", "20s", "2m", "1h") in seconds."""
    for unit, mul in (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)):
        if d.endswith(unit):
            return float(d[:-len(unit)]) * mul
    return float(d)


class RiftError(Exception):
    """rift refused a request, or could not run: the reason is the text."""


class Reply:
    def __init__(self, line):
        self.line = line
        self.ok = line == "ok" or line.startswith("ok ")
        self.text = line[3:] if self.ok else line[5:] if line.startswith("fail ") else line

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return "Reply(%r)" % self.line


class Check:
    """One check as rift sees it so far: status pass, fail or pending (the
    lost writes and the clients' healing are known at down)."""

    def __init__(self, d):
        self.name = d["name"]
        self.status = d["status"]
        self.seen = d["seen"]
        self.detail = d["detail"]
        self.observations = d.get("observations", [])

    @property
    def failed(self):
        return self.status == "fail"

    def __repr__(self):
        return "Check(%s: %s, %s)" % (self.name, self.status, self.detail)


class Result:
    """How the run ended: rift run's exit status, its summary, the verdict
    and the checks of report.json (when the run has a report folder)."""

    def __init__(self, status, summary, report):
        self.status = status
        self.summary = summary
        self.report = report
        self.checks = []
        self.verdict = None
        path = report and os.path.join(report, "report.json")
        if path and os.path.exists(path):
            with open(path) as f:
                rep = json.load(f)
            self.verdict = rep.get("verdict")
            self.checks = [Check(dict(c, seen=c.get("seen", bool(c.get("observations")))))
                           for c in rep.get("checks", [])]

    def check(self, name):
        return next((c for c in self.checks if c.name == name), None)

    def __repr__(self):
        return "Result(exit %d, %s, %s)" % (self.status, self.verdict, self.report)


def up(scenario, report=None, server=None, seed=None, grace="30s", ttl=None, rift="rift",
       timeout=180):
    """rift up SCENARIO: the cluster, shim, observer, probes and workload
    started and the [timeline] run; returns the Cluster once it serves."""
    argv = [rift, "up", os.path.abspath(scenario), "--grace", grace]
    if report:
        os.makedirs(report, mode=0o700, exist_ok=True)
        argv += ["--report", os.path.abspath(report)]
    if server:
        argv += ["--server", server]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if ttl:
        argv += ["--ttl", ttl]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RiftError("rift up %s: exit %d: %s" % (scenario, r.returncode,
                                                     r.stderr.strip()[-2000:]))
    return Cluster(json.loads(r.stdout.strip().splitlines()[-1]), progress=r.stderr)


class Cluster:
    def __init__(self, info, progress="", timeout=60):
        self.info = info
        self.id = info["id"]
        self.seed = info["seed"]
        self.socket_path = info["socket"]
        self.password = info["password"]
        self.netns = info["netns"]
        self.report = info["report"]
        self.server = info["server"]
        self.seeds = info["seeds"].split(",")
        self.nodes = info["nodes"]
        self.progress = progress
        self.timeout = timeout
        self.result = None
        self._old_ns = None
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(self.socket_path)
        self._buf = b""

    # -- the protocol --

    def _line(self, timeout):
        self._sock.settimeout(timeout)
        while b"\n" not in self._buf:
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                raise RiftError("no reply from rift within %s s" % timeout) from None
            if not data:
                raise RiftError("rift closed the control socket (the run ended)")
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def request(self, line, timeout=None):
        """One request, one Reply; an "error: ..." reply raises RiftError."""
        if self.result is not None:
            raise RiftError("the run is down")
        if "\n" in line:
            raise RiftError("a request is one line")
        self._sock.sendall(line.encode() + b"\n")
        reply = Reply(self._line(timeout or self.timeout))
        if reply.line.startswith("error:"):
            raise RiftError(reply.line[6:].strip())
        return reply

    def _json(self, req):
        r = self.request(req)
        return json.loads(r.text)

    # -- steps, as the [timeline] names them --

    def failover(self, node, mode=None):
        return self.request("failover %s%s" % (node, " " + mode if mode else ""))

    def kill(self, node):
        return self.request("kill " + node)

    def restart(self, node):
        return self.request("restart " + node)

    def pause(self, node):
        return self.request("pause " + node)

    def resume(self, node):
        return self.request("resume " + node)

    def migrate(self, slots, src, dst, atomic=False):
        return self.request("migrate %s %s %s%s" % (slots, src, dst, " atomic" if atomic else ""))

    def fault(self, name, on=True):
        return self.request("fault %s %s" % (name, "on" if on else "off"))

    def set(self, fault, key, value):
        return self.request("set %s %s %s" % (fault, key, value))

    def wait_converged(self, timeout="30s"):
        return self.request("wait converged " + timeout, timeout=_seconds(timeout) + 30)

    def mark(self, text):
        return self.request("mark " + text)

    def ping(self):
        return self.request("ping")

    # -- what rift saw --

    def checks(self):
        return [Check(c) for c in self._json("checks")["checks"]]

    def check(self, name):
        return next((c for c in self.checks() if c.name == name), None)

    def views(self):
        return {v["name"]: v["view"] for v in self._json("views")["views"]}

    # -- the nodes' network --

    def enter(self):
        """This thread joins the run's network namespace, where the nodes
        are (127.0.0.11 and up); leave() goes back."""
        if not self.netns or self._old_ns is not None:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        old = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.netns, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                os.close(old)
                raise RiftError("setns %s: %s" % (self.netns, os.strerror(ctypes.get_errno())))
        finally:
            os.close(fd)
        self._old_ns = old

    def leave(self):
        if self._old_ns is None:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        libc.setns(self._old_ns, CLONE_NEWNET)
        os.close(self._old_ns)
        self._old_ns = None

    # -- the end --

    def down(self, timeout=180):
        """rift down: convergence wait, verdict, report, cleanup; the
        Result carries rift run's exit status."""
        if self.result is not None:
            return self.result
        self.leave()
        self._sock.sendall(b"down\n")
        lines, status = [], None
        while status is None:
            line = self._line(timeout)
            if line.startswith("exit "):
                status = int(line[5:])
            else:
                lines.append(line)
        self._sock.close()
        self.result = Result(status, "\n".join(lines), self.report)
        return self.result

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down()
