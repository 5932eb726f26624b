#!/usr/bin/python3
"""Runs rift's root integration tests: each test_* function of each
tests/integration/test_*.py gets a fresh network namespace. After each test
the runner lists what is left (namespace, rift-shim processes, temp dir) and
fails the test if anything is. Usage: run.py [NAME-SUBSTRING...]"""
import importlib.util
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lib  # noqa: E402


def leftovers(ns, shims_before):
    left = []
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if ns.name in names:
        left.append("namespace " + ns.name)
    extra = set(lib.shim_pids()) - shims_before
    if extra:
        left.append("rift-shim processes %s" % sorted(extra))
    if os.path.exists(ns.tmp):
        left.append("temp dir " + ns.tmp)
    # anywhere in the hierarchy: rift makes its cgroups under its own
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        for path, dirs, _ in os.walk(root):
            left += ["cgroup " + os.path.join(path, d) for d in dirs if d.startswith("rift-")]
            dirs[:] = [d for d in dirs if not d.startswith("rift-")]
    return left


def main():
    if os.geteuid() != 0:
        print("integration tests need root (network namespaces, iptables, NFQUEUE)")
        return 2
    filters = sys.argv[1:]
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3], os.path.join(HERE, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(dir(mod)):
            if name.startswith("test_") and callable(getattr(mod, name)):
                full = "%s.%s" % (fn[:-3], name)
                if not filters or any(f in full for f in filters):
                    tests.append((full, getattr(mod, name)))
    failed = []
    t_all = time.monotonic()
    for i, (full, fn) in enumerate(tests):
        shims_before = set(lib.shim_pids())
        ns = lib.Netns(str(i))
        t0 = time.monotonic()
        err = None
        try:
            fn(ns)
        except Exception:
            err = traceback.format_exc()
        finally:
            ns.close()
        left = leftovers(ns, shims_before)
        if left and not err:
            err = "left behind: " + ", ".join(left)
        dt = time.monotonic() - t0
        if err:
            failed.append(full)
            print("FAIL %-50s %6.1fs\n%s" % (full, dt, err), flush=True)
        else:
            print("ok   %-50s %6.1fs" % (full, dt), flush=True)
    print("%d integration tests, %d failed, %.0f s" % (len(tests), len(failed),
                                                       time.monotonic() - t_all))
    for f in failed:
        print("  failed: " + f)
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
