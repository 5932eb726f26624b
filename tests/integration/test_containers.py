"""rift on a cluster in containers ([cluster] attach): an image built here
from Debian packages (mmdebstrap, then podman import: no registry is
reachable), six containers of it on a bridge network from a compose file
(podman-compose), the cluster made with redis-cli --cluster create from
the host, as a user's compose setup does. rift runs on the host and puts
one rift-shim in each container's network namespace.

podman runs with a configuration of the test's own (CONTAINERS_CONF,
CONTAINERS_STORAGE_CONF): runc, ulimits within what this machine grants,
images and containers under the test's temp dir, so that nothing of the
machine's own podman is touched and everything goes at the end."""
import json
import os
import subprocess
import time

from lib import check, wait_for
from test_rift import RIFT, rift_leftovers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMPOSE = os.path.join(HERE, "containers", "compose.yml")
IMAGE = "localhost/rift-redis:bookworm"
# the image's root file system, built once per tree (about 30 s)
TARBALL = os.path.join(ROOT, "build", "containers", "rift-redis-bookworm.tar")

CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
STORAGE_CONF = """[storage]
driver = "vfs"
graphroot = "%s/root"
runroot = "%s/run"
"""

PONG_RACE = """[cluster]
attach = %s
attach_signals = yes
masters = 3
replicas = 1

[fault a-to-c]
from = m1r1
to = m2
ports = bus
hold = yes

[timeline]
1.0s = fault a-to-c on
1.1s = failover m1r1
6.0s = fault a-to-c off
6.1s = pause m2r1
6.5s = resume m2r1
6.6s = wait converged

[check]
converge_within = 15s
crashes = forbid

[expect]
cycles = present
lost_slots = present
"""


def image_tarball():
    if os.path.exists(TARBALL):
        return
    os.makedirs(os.path.dirname(TARBALL), exist_ok=True)
    t = time.monotonic()
    part = TARBALL[:-len(".tar")] + ".part.tar"  # mmdebstrap reads the format from the name
    r = subprocess.run(["mmdebstrap", "--quiet", "--variant=essential", "--format=tar",
                        "--include=redis-server", "bookworm", part,
                        "http://deb.debian.org/debian"], capture_output=True, text=True,
                       timeout=600)
    check(r.returncode == 0 and os.path.isfile(part), "mmdebstrap: %s" % r.stderr[-2000:])
    os.rename(part, TARBALL)
    print("  image built from Debian bookworm's redis-server in %.0f s" %
          (time.monotonic() - t))


class Compose:
    """The compose project: podman with the test's configuration."""

    def __init__(self, tmp):
        self.project = "rift%d" % os.getpid()
        self.dir = os.path.join(tmp, "podman")
        os.makedirs(self.dir)
        conf = os.path.join(self.dir, "containers.conf")
        storage = os.path.join(self.dir, "storage.conf")
        with open(conf, "w") as f:
            f.write(CONTAINERS_CONF)
        with open(storage, "w") as f:
            f.write(STORAGE_CONF % (self.dir, self.dir))
        self.env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage)
        self.up = False

    def run(self, *argv, timeout=120):
        r = subprocess.run(list(argv), env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        check(r.returncode == 0, "%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                                     (r.stderr or r.stdout)[-2000:]))
        return r.stdout

    def start(self):
        self.run("podman", "import", TARBALL, IMAGE)
        self.up = True
        self.run("podman-compose", "-p", self.project, "-f", COMPOSE, "up", "-d", timeout=300)
        names = ["%s_n%d_1" % (self.project, i) for i in range(1, 7)]
        self.ips = [self.run("podman", "inspect", "-f",
                             "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                             n).strip() for n in names]
        self.pids = [int(self.run("podman", "inspect", "-f", "{{.State.Pid}}", n))
                     for n in names]
        for ip in self.ips:
            wait_for(lambda a=ip: self.cli(a, "PING") == "PONG", 20, "redis-server at " + ip)
        self.run("redis-cli", "--cluster", "create", *["%s:6379" % ip for ip in self.ips],
                 "--cluster-replicas", "1", "--cluster-yes")
        wait_for(self.healthy, 30, "the cluster to be ok on every node", interval=0.2)

    def cli(self, ip, *args):
        return subprocess.run(["redis-cli", "-h", ip, "-p", "6379"] + list(args),
                              capture_output=True, text=True, timeout=10).stdout.strip()

    def healthy(self):
        return all("cluster_state:ok" in self.cli(ip, "CLUSTER", "INFO") for ip in self.ips)

    def iptables_rift(self):
        """RIFT rules in the host's namespace and in every container's."""
        out = []
        for argv in [["iptables-save"]] + [["nsenter", "-t", str(p), "-n", "iptables-save"]
                                           for p in self.pids]:
            text = subprocess.run(argv, capture_output=True, text=True).stdout
            out += [l for l in text.splitlines() if "RIFT" in l or "rift:" in l]
        return out

    def leftovers(self):
        ps = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], env=self.env,
                            capture_output=True, text=True).stdout.split()
        nets = subprocess.run(["podman", "network", "ls", "--format", "{{.Name}}"],
                              env=self.env, capture_output=True, text=True).stdout.split()
        return ps + [n for n in nets if n.startswith(self.project)]

    def down(self):
        if not self.up:
            return
        self.up = False
        subprocess.run(["podman-compose", "-p", self.project, "-f", COMPOSE, "down", "-t", "2"],
                       env=self.env, capture_output=True, timeout=180)
        subprocess.run(["podman", "network", "rm", "-f", self.project + "_cluster"],
                       env=self.env, capture_output=True, timeout=60)
        subprocess.run(["podman", "rmi", "-f", IMAGE], env=self.env, capture_output=True,
                       timeout=60)


def test_pong_race_on_a_compose_cluster_one_shim_per_container(ns):
    image_tarball()
    cl = Compose(ns.tmp)
    try:
        cl.start()
        scn = os.path.join(ns.tmp, "race.ini")
        with open(scn, "w") as f:
            f.write(PONG_RACE % ("%s:6379" % cl.ips[0]))
        report = os.path.join(ns.tmp, "report")
        t = time.monotonic()
        r = subprocess.run([RIFT, "run", scn, "--report", report], capture_output=True,
                           text=True, timeout=120)
        secs = time.monotonic() - t
        check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout[-2000:],
                                                     r.stderr[-3000:]))
        rep = json.load(open(os.path.join(report, "report.json")))
        nodes = rep["attached"]["nodes"]
        check(sorted(n["pid"] for n in nodes) == sorted(cl.pids),
              "the nodes' processes are the containers': %s %s" % (nodes, cl.pids))
        check(sorted(n["addr"] for n in nodes) == sorted("%s:6379" % ip for ip in cl.ips), nodes)
        shims = [l for l in r.stderr.splitlines() if "rift-shim in the network namespace" in l]
        check(len(shims) == 6, "one shim per container: %s" % shims)
        per = rep["shim"]["namespaces"]
        held = {name: v["rules"]["a-to-c"] for name, v in per.items()}
        # held where the packets arrive: in m2's namespace only, m1r1's only
        check(held["m2"]["held"] > 0 and set(held["m2"]["pairs"]) == {"m1r1>m2"} and
              held["m2"]["pairs_other"] == 0, "the hold in m2's namespace: %s" % held["m2"])
        check(all(v["held"] == 0 for name, v in held.items() if name != "m2"), held)
        cyc = [o["what"] for c in rep["checks"] if c["name"] == "cycles"
               for o in c.get("observations", [])]
        bus = [l for l in r.stderr.splitlines() if "bus timeline:" in l]
        print("  exit %d in %.1f s; cycle %s; held in m2's namespace %d; %s" % (
            r.returncode, secs, cyc[:1], held["m2"]["held"], bus))
        check(cyc, "the cycle was seen: %s" % rep["checks"])
        check(bus and "from 6 network namespaces" in bus[0], bus)
        wait_for(cl.healthy, 30, "the cluster healthy after the run", interval=0.2)
        check([int(cl.run("podman", "inspect", "-f", "{{.State.Pid}}", "%s_n%d_1" %
                          (cl.project, i))) for i in range(1, 7)] == cl.pids,
              "the same processes after the run")
        check(cl.iptables_rift() == [], "rules left: %s" % cl.iptables_rift())
        check(sum(int(cl.cli(ip, "DBSIZE") or 0) for ip in cl.ips) == 0, "rift's keys left")

        # what a cluster in containers cannot have is refused at its line
        with open(scn, "w") as f:
            f.write(PONG_RACE.replace("6.1s = pause m2r1", "6.1s = kill m2r1")
                    .replace("6.5s = resume m2r1\n", "") % ("%s:6379" % cl.ips[0]))
        r = subprocess.run([RIFT, "run", scn], capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "%s:17: kill m2r1: a node in a container is started by "
              "its container engine" % scn in r.stderr, "exit %d: %s" % (r.returncode, r.stderr))
        check(cl.iptables_rift() == [], "rules left: %s" % cl.iptables_rift())
    finally:
        cl.down()
    check(cl.leftovers() == [], "podman left: %s" % cl.leftovers())
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_an_address_off_this_machine_is_refused_before_any_traffic(ns):
    scn = os.path.join(ns.tmp, "far.ini")
    with open(scn, "w") as f:
        f.write("[cluster]\nattach = 198.51.100.7:6379\n")
    r = subprocess.run([RIFT, "run", scn], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "198.51.100.7:6379 is not a listening address of this machine"
          in r.stderr and "nothing was changed" in r.stderr,
          "exit %d: %s" % (r.returncode, r.stderr))
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())
