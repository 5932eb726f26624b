"""make demo, as README's first command runs it: a 3+3 Redis Cluster in its
own namespace, primary m1 partitioned by rift-shim, a verdict."""
import os
import subprocess

import lib
from lib import check


def test_demo_partition_fails_over_and_heals(ns):
    del ns  # the demo makes its own namespace
    demo = os.path.join(lib.ROOT, "tests", "demo", "partition-demo.py")
    r = subprocess.run(["/usr/bin/python3", demo], capture_output=True, text=True, timeout=120)
    out = r.stdout
    print("  " + "\n  ".join(out.strip().splitlines()))
    check(r.returncode == 0, "demo exit %d: %s %s" % (r.returncode, out, r.stderr[-2000:]))
    check("verdict: PASS" in out and "rift rules left          0" in out, out)
    check("replica took over        never" not in out, out)
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    check("demo" not in left, "demo namespace left: " + left)
