"""rift installed: make install lays out harness/sys/home.h under PREFIX,
the installed rift finds its scenarios, helpers and cache there from any
working directory (never BIN/..), the man pages are found, and bash
completes commands, options and fetched server names. The Debian packages
themselves: tests/deb.py (make deb-test)."""
import glob
import os
import subprocess
import tempfile

import lib
import test_rift
from lib import check

RIFT = os.path.join(lib.ROOT, "bin", "rift")


def tree_files(pattern):
    return sorted(os.path.basename(f) for f in glob.glob(os.path.join(lib.ROOT, pattern)))


def test_make_install_lays_out_the_prefix_and_rift_runs_from_it(ns):
    with tempfile.TemporaryDirectory() as dest:
        r = subprocess.run(["make", "-s", "-C", lib.ROOT, "install", "DESTDIR=" + dest,
                            "PREFIX=/usr"], capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, "make install: %d %s" % (r.returncode, r.stderr[-2000:]))
        files = sorted(os.path.relpath(os.path.join(d, f), dest)
                       for d, ds, fs in os.walk(dest) for f in fs
                       if "node_modules" not in d.split(os.sep))
        want = ["usr/bin/rift", "usr/bin/rift-shim",
                "usr/lib/rift/apps/bullmq/app.js", "usr/lib/rift/apps/bullmq/cluster-failover.ini",
                "usr/lib/rift/apps/bullmq/package-lock.json",
                "usr/lib/rift/apps/bullmq/package.json", "usr/lib/rift/apps/bullmq/standalone.ini",
                "usr/lib/rift/clients/build-valkey-1912.sh", "usr/lib/rift/clients/fetch-suite.sh",
                "usr/lib/rift/clients/node_probe.js", "usr/lib/rift/clients/package-lock.json",
                "usr/lib/rift/clients/package.json", "usr/lib/rift/clients/redis_py_probe.py",
                "usr/lib/rift/clients/valkey-1912.patch", "usr/lib/rift/rift-probe",
                "usr/share/bash-completion/completions/rift",
                "usr/share/bash-completion/completions/rift-shim",
                "usr/share/man/man1/rift.1", "usr/share/man/man5/rift-chaos.5",
                "usr/share/man/man5/rift-policy.5", "usr/share/man/man5/rift-scenario.5",
                "usr/share/man/man8/rift-shim.8"]
        want += ["usr/share/rift/chaos/" + f for f in tree_files("harness/chaos/*.ini")]
        want += ["usr/share/rift/policies/" + f for f in tree_files("policies/examples/*.ini")]
        scenarios = tree_files("harness/scenarios/*.ini")
        want += ["usr/share/rift/scenarios/" + f for f in scenarios]
        check(files == sorted(want), "installed %s\nwanted %s" %
              (sorted(set(files) - set(want)), sorted(set(want) - set(files))))
        check(os.path.isdir(os.path.join(dest, "usr/lib/rift/clients/node_modules/ioredis")),
              "the npm modules of the tree were not installed")
        print("  %d files besides the npm modules" % len(files))
        # the installed rift, from /, told where the prefix is (DESTDIR is
        # not /usr) and given the tree's cache of fetched servers
        usr = os.path.join(dest, "usr")
        env = dict(os.environ, RIFT_HOME=usr, RIFT_CACHE=os.path.join(lib.ROOT, "build"))
        rift = os.path.join(usr, "bin", "rift")
        r = subprocess.run([rift, "fetch", "--list"], capture_output=True, text=True, env=env,
                           cwd="/", timeout=60)
        ready = [l for l in r.stdout.splitlines() if l.endswith(": ready")]
        print("  rift fetch --list: %d of %d shipped scenarios ready" % (len(ready),
                                                                     len(scenarios)))
        check(r.returncode == 0 and "scenarios in %s/share/rift/scenarios:" % usr in r.stdout and
              len(ready) == len(scenarios), "rift fetch --list: %s%s" % (r.stdout, r.stderr))
        r = subprocess.run([rift, "run", os.path.join(usr, "share/rift/scenarios/baseline.ini"),
                            "--server", "valkey@nosuchsuite"], capture_output=True, text=True,
                           env=env, cwd="/", timeout=60)
        # an installed rift names rift fetch, no make target
        check(r.returncode == 2 and "run `rift fetch valkey@nosuchsuite`;" not in r.stderr and
              r.stderr.rstrip().endswith("run `rift fetch valkey@nosuchsuite`") and
              "make" not in r.stderr, "exit %d: %r" % (r.returncode, r.stderr))
        r = subprocess.run([rift, "run", "x.ini"], capture_output=True, text=True,
                           env=dict(env, RIFT_HOME=os.path.join(dest, "nowhere")), timeout=30)
        check(r.returncode == 2 and "neither a rift source tree" in r.stderr, r.stderr)
        man = dict(os.environ, MANPATH=os.path.join(usr, "share/man"))
        for name in ("rift", "rift-scenario", "rift-policy", "rift-chaos", "rift-shim"):
            w = subprocess.run(["man", "-w", name], capture_output=True, text=True, env=man)
            check(w.returncode == 0 and w.stdout.startswith(dest), "man -w %s: %r" % (name, w))
        page = subprocess.run(["man", "rift-scenario"], capture_output=True, text=True,
                              env=dict(man, MANWIDTH="100", MAN_DISABLE_SECCOMP="1"))
        check("converge_within" in page.stdout, "man rift-scenario: %r" % page.stdout[:300])
    check(test_rift.rift_leftovers() == [], "left behind: %s" % test_rift.rift_leftovers())


def complete(words, fn="_rift"):
    script = ("source /usr/share/bash-completion/bash_completion; source %s; source %s; "
              "COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE='%s'; COMP_POINT=${#COMP_LINE}; %s; "
              "printf '%%s\\n' \"${COMPREPLY[@]}\"" %
              (os.path.join(lib.ROOT, "harness/cli/rift.bash"),
               os.path.join(lib.ROOT, "shim/rift-shim.bash"), " ".join(words), len(words) - 1,
               " ".join(words), fn))
    env = dict(os.environ, PATH=os.path.join(lib.ROOT, "bin") + ":" + os.environ["PATH"])
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                       cwd=lib.ROOT, timeout=30)
    return [l for l in r.stdout.splitlines() if l]


def test_bash_completion_of_commands_options_files_and_servers(ns):
    del ns
    cases = [
        (["rift", "ch"], ["chaos", "check"]),
        (["rift", "d"], ["down", "decode"]),
        (["rift", "run", "--se"], ["--seed", "--server"]),
        (["rift", "run", "harness/scenarios/failover-p"],
         ["harness/scenarios/failover-pong-race.ini"]),
        (["rift", "run", "x.ini", "--server", "valkey@s"], ["valkey@sid"]),
        (["rift", "matrix", "x.ini", "--servers", "redis,redis@s"], ["redis,redis@sid"]),
        (["rift", "fetch", "valkey-"], ["valkey-1912"]),
        (["rift", "decode", "--"], ["--json"]),
        (["rift", "up", "x.ini", "--g"], ["--grace"]),
        (["rift", "ctl", "/x", "wa"], ["wait"]),
    ]
    for words, want in cases:
        got = complete(words)
        check(got == want, "%s: %s, not %s" % (" ".join(words), got, want))
    got = complete(["rift-shim", "--c"], "_rift_shim")
    check(got == ["--check", "--cleanup"], "rift-shim --c: %s" % got)
    got = complete(["rift-shim", "ctl", "/x", "s"], "_rift_shim")
    check(got == ["set", "stats"], "rift-shim ctl /x s: %s" % got)
    print("  %d completions as expected" % (len(cases) + 2))


def test_each_command_help_names_man_pages_that_exist(ns):
    del ns
    import re
    pages = {os.path.basename(p) for p in glob.glob(os.path.join(lib.ROOT, "build/man/*"))}
    check(len(pages) == 5, "build/man: %s" % sorted(pages))
    for cmd in ("run", "up", "ctl", "down", "matrix", "chaos", "shrink", "decode", "audit",
                "check", "cleanup", "fetch"):
        r = subprocess.run([RIFT, cmd, "--help"], capture_output=True, text=True, timeout=10)
        named = re.findall(r"([a-z-]+)\((\d)\)", r.stdout)
        check(r.returncode == 0 and r.stdout.startswith("usage: rift " + cmd) and named,
              "rift %s --help: %d %r" % (cmd, r.returncode, r.stdout))
        for name, sec in named:
            check("%s.%s" % (name, sec) in pages, "rift %s --help names %s(%s), not made" %
                  (cmd, name, sec))
    r = subprocess.run([RIFT, "--help"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and "man rift" in r.stdout and "rift fetch NAME" in r.stdout,
          r.stdout)
