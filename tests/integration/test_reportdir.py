"""What rift writes as root, where someone else may have prepared the place:
a --report folder with links planted in it (replaced, never written
through: the file they point to keeps its bytes), a folder of another uid
or one writable by others (refused with exit 2 before anything starts), and
the agent's put, get and spawn logs (inside a run folder of its own, never
through a link)."""
import hashlib
import os
import stat
import subprocess

import lib
from lib import check
from test_rift import RIFT, rift_leftovers, rift_run

VICTIM = b"victim: a file of the test's own, never rift's to write\n"


def quick_scenario(ns):
    path = os.path.join(ns.tmp, "quick.ini")
    with open(path, "w") as f:
        f.write("[cluster]\nmasters = 3\nreplicas = 0\n[timeline]\n0.2s = wait converged\n"
                "[check]\nconverge_within = 10s\n")
    return path


def victim(ns):
    path = os.path.join(ns.tmp, "victim")
    with open(path, "wb") as f:
        f.write(VICTIM)
    return path


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()[:12]


def rift_namespaces():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [l.split()[0] for l in out.splitlines()
            if l.startswith("rift-") and not l.startswith("rift-t")]


def test_links_planted_in_the_report_folder_are_replaced(ns):
    v = victim(ns)
    before = digest(v)
    report = os.path.join(ns.tmp, "report")
    os.mkdir(report, 0o700)  # root's own folder, as rift's caller
    for name in ("summary.txt", "report.json", "m1.log", "shim.pcap"):
        os.symlink(v, os.path.join(report, name))
    r, secs = rift_run(quick_scenario(ns), report)
    modes = {n: stat.S_IMODE(os.lstat(os.path.join(report, n)).st_mode)
             for n in ("summary.txt", "report.json", "junit.xml", "report.html", "m1.log",
                       "shim.pcap", "views.jsonl")}
    print("  exit %d in %.1f s; victim %s -> %s; modes %s" %
          (r.returncode, secs, before, digest(v),
           " ".join("%s %o" % kv for kv in sorted(modes.items()))))
    check(r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    check(open(v, "rb").read() == VICTIM, "victim rewritten: %r" % open(v, "rb").read()[:200])
    for name in ("summary.txt", "report.json", "m1.log", "shim.pcap"):
        check(stat.S_ISREG(os.lstat(os.path.join(report, name)).st_mode),
              "%s is still a link" % name)
    summary = open(os.path.join(report, "summary.txt")).read()
    check(summary.startswith("rift run %s: seed " % quick_scenario(ns)) and
          "\nverdict: pass\n" in summary and summary == r.stdout, "summary.txt: %r" % summary)
    check("Ready to accept connections" in open(os.path.join(report, "m1.log")).read(), "m1.log")
    # documents 0644, what was copied from the run 0600; the folder as it was
    check(all(modes[n] == 0o644 for n in ("summary.txt", "report.json", "junit.xml",
                                           "report.html")), modes)
    check(all(modes[n] == 0o600 for n in ("m1.log", "shim.pcap", "views.jsonl")), modes)
    check(stat.S_IMODE(os.stat(report).st_mode) == 0o700, "folder mode changed")
    check([n for n in os.listdir(report) if n.startswith(".")] == [], "temp files left")
    check(rift_leftovers() == [], "left behind: %s" % rift_leftovers())


def test_report_folder_of_another_uid_or_open_to_others_is_refused(ns):
    scn = quick_scenario(ns)
    theirs = os.path.join(ns.tmp, "theirs")
    os.mkdir(theirs, 0o700)
    os.chown(theirs, 65534, 65534)
    shared = os.path.join(ns.tmp, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    link = os.path.join(ns.tmp, "link")
    os.symlink(shared, link)
    cases = [(theirs, "owned by uid 65534, not yours (uid 0)"),
             (shared, "writable by others (mode 0777)"),
             (link, "a symbolic link, not a folder")]
    for folder, why in cases:
        r, secs = rift_run(scn, folder)
        print("  exit %d in %.2f s: %s" % (r.returncode, secs, r.stderr.strip()))
        check(r.returncode == 2, "exit %d:\n%s" % (r.returncode, r.stderr[-3000:]))
        check(r.stderr == "rift: --report %s: %s\n" % (folder, why), "stderr: %r" % r.stderr)
        check(r.stdout == "", "stdout: %r" % r.stdout)
        check(os.listdir(folder) == [], "written into %s: %s" % (folder, os.listdir(folder)))
        # nothing started: no namespace, no registered run, no temp dir
        check(rift_namespaces() == [] and rift_leftovers() == [],
              "left behind: %s %s" % (rift_namespaces(), rift_leftovers()))
        check(secs < 5, "%.1f s: something started" % secs)


def agent(*words, stdin=None):
    return subprocess.run([lib.SHIM, "agent"] + list(words), input=stdin, capture_output=True)


def test_agent_put_get_and_logs_stay_in_its_run_folder(ns):
    v = victim(ns)
    run = os.path.join(ns.tmp, "rift-agenttest")
    r = agent("mkdir", run)
    check(r.returncode == 0, r.stderr)
    r = agent("mkdir", run + "/m1")
    check(r.returncode == 0, r.stderr)
    # what rift does: a file in, a file back
    r = agent("put", run + "/shim.ini", stdin=b"[shim]\n")
    check(r.returncode == 0 and open(run + "/shim.ini", "rb").read() == b"[shim]\n", r.stderr)
    check(stat.S_IMODE(os.stat(run + "/shim.ini").st_mode) == 0o600, "shim.ini mode")
    r = agent("get", run + "/shim.ini")
    check(r.returncode == 0 and r.stdout == b"[shim]\n", r.stderr)
    # a link planted in the run folder: put replaces it, get refuses it
    os.symlink(v, run + "/m1/server.log")
    r = agent("get", run + "/m1/server.log")
    refused = [("get through a link", r)]
    os.symlink(v, run + "/shim.log")
    r = agent("put", run + "/shim.log", stdin=b"overwritten\n")
    check(r.returncode == 0 and not os.path.islink(run + "/shim.log") and
          open(run + "/shim.log", "rb").read() == b"overwritten\n", "put: %r" % r.stderr)
    # a folder of the path a link to another folder
    os.symlink(ns.tmp, run + "/up")
    refused.append(("put under a linked folder", agent("put", run + "/up/victim", stdin=b"x\n")))
    refused.append(("get under a linked folder", agent("get", run + "/up/victim")))
    refused.append(("put with ..", agent("put", run + "/m1/../../victim", stdin=b"x\n")))
    # ns.tmp is a rift-... folder of root's, 0700, but not one the agent made
    refused.append(("put outside its run folder", agent("put", v, stdin=b"x\n")))
    refused.append(("get outside its run folder", agent("get", v)))
    refused.append(("put a relative path", agent("put", "victim", stdin=b"x\n")))
    # a spawned process's log through a link: the process never starts
    os.symlink(v, run + "/m1/server.out")
    refused.append(("spawn with a linked log", agent("spawn", run, "m1", run + "/m1/server.out",
                                                     "--", "/bin/echo", "written")))
    refused.append(("spawn with a log outside", agent("spawn", run, "m1", v, "--", "/bin/echo",
                                                      "written")))
    for what, r in refused:
        print("  %s: exit %d: %s" % (what, r.returncode, r.stderr.decode().strip()))
    check(all(r.returncode == 2 and r.stdout == b"" for _, r in refused),
          [(w, r.returncode, r.stdout[:80]) for w, r in refused if r.returncode != 2 or r.stdout])
    check(open(v, "rb").read() == VICTIM, "victim rewritten: %r" % open(v, "rb").read()[:200])
    check(not os.path.exists(run + "/pids"), "a process was registered")
    r = agent("cleanup", run)
    check(r.returncode == 0 and not os.path.exists(run), r.stderr)
