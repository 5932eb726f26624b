#!/usr/bin/python3
"""make layers: the sources call down, never up, and never in a circle.

LAYERS names the folders from the top (the command line) to the bottom
(the wire formats). A file may include headers of its own folder and of
folders below it; an object file may use symbols of its own folder's
objects and of folders below. Between modules (a .c and its .h) the
references read from the object files (`nm`: what each defines and what
it uses) must not go round in a circle, inside a folder or across.

    tests/layers.py [BUILD [ROOT]]    BUILD: the object folder (build),
                                      ROOT: the tree (this one)

Prints every upward include, upward reference and circle with the file and
symbol that make it, one line each, and exits 1 if there is one; prints the
folders with their modules and lines otherwise."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# From the top down: the probe program; the harness from its command line
# to its system calls (each folder's README.md says what it owns); the
# shim over the policy files; everything over the wire formats.
LAYERS = [
    "harness/clients",
    "harness/cli",
    "harness/explore",
    "harness/run",
    "harness/report",
    "harness/checks",
    "harness/hosts",
    "harness/attach",
    "harness/cluster",
    "harness/observe",
    "harness/scenario",
    "harness/sys",
    "shim",
    "policies",
    "proto",
]
# Folders the check reads; a folder not in LAYERS is refused.
SOURCES = ["harness", "shim", "policies", "proto"]


def rank(folder):
    return LAYERS.index(folder) if folder in LAYERS else None


def sources():
    out = []
    for top in SOURCES:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, f), ROOT))
    return sorted(out)


def module(path):
    return os.path.splitext(path)[0]


def includes(path):
    text = open(os.path.join(ROOT, path), errors="replace").read()
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if m:
            target = os.path.normpath(os.path.join(os.path.dirname(path), m.group(1)))
            yield n, target


def symbols(build, path):
    """What the object of path defines and what it uses (nm)."""
    obj = os.path.join(build, module(path) + ".o")
    if not os.path.exists(obj):
        return None
    r = subprocess.run(["nm", obj], capture_output=True, text=True, check=True)
    defined, used = set(), set()
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
    return defined, used


def circles(graph):
    """Tarjan's strongly connected components of more than one node."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    global ROOT
    if len(sys.argv) > 2:
        ROOT = os.path.abspath(sys.argv[2])
    build = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else "build")
    files = sources()
    bad = []
    for f in files:
        if rank(os.path.dirname(f)) is None:
            bad.append("%s: folder %s is not in tests/layers.py's LAYERS" %
                       (f, os.path.dirname(f)))
    graph, why = {}, {}
    for f in files:
        src = os.path.dirname(f)
        for n, target in includes(f):
            dst = os.path.dirname(target)
            if not os.path.exists(os.path.join(ROOT, target)):
                continue  # a system header spelt with quotes
            if rank(src) is not None and rank(dst) is not None and rank(dst) < rank(src):
                bad.append("%s:%d: includes %s of %s, a folder above %s" %
                           (f, n, target, dst, src))
    owner = {}
    uses = {}
    missing = []
    for f in files:
        if not f.endswith(".c"):
            continue
        s = symbols(build, f)
        if s is None:
            missing.append(f)
            continue
        for sym in s[0]:
            owner.setdefault(sym, module(f))
        uses[module(f)] = s[1]
    if missing:
        print("layers: no object for %s (run make all first)" % ", ".join(missing))
        return 2
    for m, used in sorted(uses.items()):
        for sym in sorted(used):
            o = owner.get(sym)
            if not o or o == m:
                continue
            graph.setdefault(m, set()).add(o)
            why.setdefault((m, o), sym)
            src, dst = os.path.dirname(m), os.path.dirname(o)
            if None not in (rank(src), rank(dst)) and rank(dst) < rank(src):
                bad.append("%s.c: uses %s of %s.c, a folder above %s" % (m, sym, o, src))
    for comp in circles(graph):
        edges = ["%s -> %s (%s)" % (a, b, why[(a, b)]) for a in comp for b in comp
                 if (a, b) in why]
        bad.append("circle of %d modules: %s" % (len(comp), "; ".join(edges)))
    for line in bad:
        print("layers: " + line)
    if bad:
        print("layers: %d problem%s" % (len(bad), "" if len(bad) == 1 else "s"))
        return 1
    for folder in LAYERS:
        mods = sorted({module(f) for f in files if os.path.dirname(f) == folder})
        lines = sum(sum(1 for _ in open(os.path.join(ROOT, f))) for f in files
                    if os.path.dirname(f) == folder)
        print("layers: %-18s %6d lines  %s" % (folder, lines,
                                                " ".join(os.path.basename(m) for m in mods)))
    print("layers: %d modules, no upward include or reference, no circle" % len(uses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
