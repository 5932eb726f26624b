"""Three "hosts" on one machine, for `rift run --hosts`: network namespaces
joined by a bridge, each with addresses of its own in 10.77.0.0/24 and
Debian's openssh-server on them, reached with a key made for the demo.
The bridge lives in a namespace of its own, and the harness runs in a
fourth one (10.77.0.1): no address or interface is added outside the
namespaces made here. The harness reaches the hosts through SSH only; it
never enters them. Everything is created here and removed by close().

As a program: hostsdemo.py SCENARIO.ini [REPORT_DIR [ADDRESSES]] runs the
scenario over the three hosts (make hosts-demo), each with ADDRESSES
addresses (2 by default; 16 for large-cluster.ini's 48 nodes)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SUBNET = "10.77.0"


def sh(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r


class Hosts:
    def __init__(self, n=3, tag=None, addrs=2):
        self.tag = tag or str(os.getpid())
        self.n = n
        self.addrs = addrs
        self.tmp = tempfile.mkdtemp(prefix="rift-hosts-")
        self.net = "rift-hnet%s" % self.tag           # the bridge's namespace
        self.harness = "rift-hharness%s" % self.tag   # where rift runs
        self.ns = ["rift-host%s-%d" % (self.tag, k + 1) for k in range(n)]
        self.sshd = []
        try:
            self._make()
        except Exception:
            self.close()
            raise

    def addr(self, k, i=0):
        return "%s.%d" % (SUBNET, 11 + k + 10 * i)  # at most 24 per host

    def run_argv(self, argv):
        """argv run in the harness's namespace."""
        return ["ip", "netns", "exec", self.harness] + list(argv)

    def _link(self, ns, name):
        """A veth from the bridge to ns, named eth0 there, up."""
        a, b = "rift-v%sa" % name, "rift-v%sb" % name
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", a, "netns", self.net)
        sh("ip", "link", "set", b, "netns", ns)
        sh("ip", "-n", self.net, "link", "set", a, "master", "br0")
        sh("ip", "-n", self.net, "link", "set", a, "up")
        sh("ip", "-n", ns, "link", "set", b, "name", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")

    def _make(self):
        for ns in [self.net, self.harness] + self.ns:
            sh("ip", "netns", "add", ns)
        sh("ip", "-n", self.net, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.net, "link", "set", "br0", "up")
        self._link(self.harness, self.tag[-5:] + "h")
        sh("ip", "-n", self.harness, "addr", "add", SUBNET + ".1/24", "dev", "eth0")
        key = os.path.join(self.tmp, "id")
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
        shutil.copy(key + ".pub", os.path.join(self.tmp, "authorized_keys"))
        os.makedirs("/run/sshd", exist_ok=True)
        cfg = ["StrictHostKeyChecking no", "UserKnownHostsFile /dev/null", "LogLevel ERROR",
               "BatchMode yes", "IdentitiesOnly yes", "IdentityFile " + key, "User root"]
        client = []
        for k in range(self.n):
            ns = self.ns[k]
            self._link(ns, "%s%d" % (self.tag[-5:], k))
            for i in range(self.addrs):
                sh("ip", "-n", ns, "addr", "add", self.addr(k, i) + "/24", "dev", "eth0")
            hostkey = os.path.join(self.tmp, "host%d" % k)
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey)
            conf = os.path.join(self.tmp, "sshd%d.conf" % k)
            with open(conf, "w") as f:
                f.write("ListenAddress %s\nHostKey %s\nPidFile %s/sshd%d.pid\n"
                        "AuthorizedKeysFile %s/authorized_keys\nPermitRootLogin prohibit-password\n"
                        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                        "StrictModes no\nMaxSessions 64\nMaxStartups 64\n" %
                        (self.addr(k), hostkey, self.tmp, k, self.tmp))
            self.sshd.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, "/usr/sbin/sshd", "-D", "-f", conf, "-E",
                 os.path.join(self.tmp, "sshd%d.log" % k)]))
            client.append("Host h%d\n  HostName %s\n  %s\n" % (k + 1, self.addr(k),
                                                              "\n  ".join(cfg)))
        self.ssh_config = os.path.join(self.tmp, "ssh_config")
        with open(self.ssh_config, "w") as f:
            f.write("\n".join(client))
        for k in range(self.n):
            deadline = time.monotonic() + 10
            while True:
                r = sh(*self.run_argv(["ssh", "-F", self.ssh_config, "h%d" % (k + 1), "--",
                                       "true"]), check=False)
                if r.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("sshd on h%d does not answer: %s" % (k + 1, r.stderr))
                time.sleep(0.1)

    def hosts_ini(self, server="/usr/bin/redis-server"):
        path = os.path.join(self.tmp, "hosts.ini")
        with open(path, "w") as f:
            for k in range(self.n):
                # the "hosts" share this machine's files: each its own tmp
                tmp = os.path.join(self.tmp, "h%d-tmp" % (k + 1))
                os.makedirs(tmp, exist_ok=True)
                addrs = [self.addr(k, i) for i in range(self.addrs)]
                lines = "".join("addr = %s\n" % ", ".join(addrs[i:i + 8])
                                for i in range(0, len(addrs), 8))
                f.write("[host h%d]\nssh = h%d\n%sshim = %s\nserver = %s\ntmp = %s\n" %
                        (k + 1, k + 1, lines, os.path.join(ROOT, "bin", "rift-shim"), server, tmp))
            f.write("[ssh]\nconfig = %s\n[harness]\naddr = %s.1\n" % (self.ssh_config, SUBNET))
        return path

    def leftovers(self):
        """What rift left on the hosts: processes in their namespaces, rift-
        folders in their tmp, RIFT chains in their iptables."""
        left = []
        for ns in self.ns:
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            sshd = {str(p.pid) for p in self.sshd}
            for pid in pids:
                try:
                    comm = open("/proc/%s/comm" % pid).read().strip()
                except OSError:
                    continue
                if comm != "sshd" and pid not in sshd:
                    left.append("%s: process %s (%s)" % (ns, pid, comm))
            rules = sh("ip", "netns", "exec", ns, "iptables-save", check=False).stdout
            if ":RIFT-" in rules:
                left.append("%s: iptables chains %s" % (ns, [l for l in rules.splitlines()
                                                             if "RIFT" in l][:3]))
        return left

    def close(self):
        for p in self.sshd:
            p.terminate()
        for p in self.sshd:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for ns in self.ns + [self.harness, self.net]:
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


if __name__ == "__main__":
    scenario = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, "harness", "scenarios", "failover-pong-race.ini")
    report = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "out", "hosts-demo")
    h = Hosts(addrs=int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    try:
        hosts = h.hosts_ini()
        print("hosts-demo: 3 hosts (network namespaces %s) behind a bridge in %s; rift runs in "
              "%s; %s" % (", ".join(h.ns), h.net, h.harness, hosts), flush=True)
        rc = subprocess.run(h.run_argv([os.path.join(ROOT, "bin", "rift"), "run", scenario,
                                        "--hosts", hosts, "--report", report])).returncode
        left = h.leftovers()
        print("hosts-demo: exit %d; left on the hosts: %s" % (rc, left or "nothing"))
    finally:
        h.close()
    sys.exit(rc)
