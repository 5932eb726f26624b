#!/usr/bin/python3
"""The checkers check: tests/layers.py and tests/docs.py run on small trees
made to break them, and each must name what is wrong and exit 1 (and a
tree with nothing wrong must pass).

    tests/checkers.py"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
failed = []


def expect(what, cond, detail=""):
    print("checkers: %s %s%s" % ("ok  " if cond else "FAIL", what, "" if cond else ": " + detail))
    if not cond:
        failed.append(what)


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def layers(root, files):
    for path, text in files.items():
        write(root, path, text)
    for path in files:
        if path.endswith(".c"):
            obj = os.path.join(root, "build", path[:-2] + ".o")
            os.makedirs(os.path.dirname(obj), exist_ok=True)
            subprocess.run(["cc", "-c", "-o", obj, os.path.join(root, path)], check=True)
    return subprocess.run([sys.executable, os.path.join(ROOT, "tests", "layers.py"), "build", root],
                          capture_output=True, text=True)


def test_layers():
    top = {"harness/cli/top.h": "int top(void);\n",
           "harness/cli/top.c": '#include "top.h"\n#include "../sys/low.h"\n'
                                "int top(void) { return low(); }\n",
           "harness/sys/low.h": "int low(void);\n"}
    with tempfile.TemporaryDirectory() as t:
        r = layers(t, dict(top, **{"harness/sys/low.c": "int low(void) { return 1; }\n"}))
        expect("layers: a tree that calls down passes", r.returncode == 0, r.stdout)
    with tempfile.TemporaryDirectory() as t:
        r = layers(t, dict(top, **{"harness/sys/low.c": '#include "../cli/top.h"\n'
                                   "int low(void) { return 1; }\n"}))
        expect("layers: an upward include is named with its line",
               r.returncode == 1 and "harness/sys/low.c:1: includes harness/cli/top.h of "
               "harness/cli, a folder above harness/sys" in r.stdout, r.stdout)
    with tempfile.TemporaryDirectory() as t:
        r = layers(t, dict(top, **{"harness/sys/low.c": "int top(void);\n"
                                   "int low(void) { return top() ? 1 : 0; }\n"}))
        expect("layers: an upward call without an include is found in the symbols",
               r.returncode == 1 and "harness/sys/low.c: uses top of harness/cli/top.c" in r.stdout,
               r.stdout)
    with tempfile.TemporaryDirectory() as t:
        r = layers(t, dict(top, **{"harness/sys/low.c": "int b(int);\n"
                                   "int low(void) { return b(1); }\n",
                                   "harness/sys/b.c": "int low(void);\n"
                                   "int b(int n) { return n ? low() : 0; }\n"}))
        expect("layers: a circle inside a folder is named",
               r.returncode == 1 and "circle of 2 modules" in r.stdout and
               "harness/sys/b -> harness/sys/low (low)" in r.stdout, r.stdout)


def copy_tree(t):
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    for f in files:
        if f.endswith(".md") or f.startswith("docs/"):
            os.makedirs(os.path.dirname(os.path.join(t, f)) or t, exist_ok=True)
            shutil.copy(os.path.join(ROOT, f), os.path.join(t, f))
        elif f and os.path.isfile(os.path.join(ROOT, f)):
            write(t, f, "")  # a link's target need only be there
    shutil.copytree(os.path.join(ROOT, "build", "man"), os.path.join(t, "build", "man"))


def docs(t):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tests", "docs.py"), t],
                          capture_output=True, text=True)


def test_docs():
    with tempfile.TemporaryDirectory() as t:
        copy_tree(t)
        r = docs(t)
        expect("docs: a copy of the tree passes", r.returncode == 0, r.stdout)
        with open(os.path.join(t, "README.md"), "a") as f:
            f.write("[gone](docs/missing.md) [anchor](docs/scenario.md#no-such-heading)\n")
        r = docs(t)
        expect("docs: two planted links are the two problems",
               r.returncode == 1 and "docs: 2 problems" in r.stdout, r.stdout)
        expect("docs: a link to a missing page is named",
               "README.md: link docs/missing.md: no such file" in r.stdout, r.stdout)
        expect("docs: a link to a missing heading is named",
               "no heading #no-such-heading in docs/scenario.md" in r.stdout, r.stdout)
        page = os.path.join(t, "docs", "scenario.md")
        text = open(page).read()
        row = re.search(r"^\| `masters` \|.*\n", text, re.M)
        expect("docs: docs/scenario.md has a row for [cluster] masters", row is not None)
        if row:
            text = text.replace(row.group(0), "| `bogus_key` | made up |\n")
        with open(page, "w") as f:
            f.write(text)
        r = docs(t)
        expect("docs: a key the loader takes and the page lacks is named",
               "docs/scenario.md: [cluster]: key masters is not in a table" in r.stdout, r.stdout)
        expect("docs: a key the page names and the loader refuses is named",
               "docs/scenario.md: [cluster]: the page names bogus_key, the loader refuses it"
               in r.stdout, r.stdout)
        man = os.path.join(t, "build", "man", "rift-policy.5")
        head = open(man).read().split("\n")[:40]
        with open(man, "w") as f:
            f.write("\n".join(head) + "\n")
        r = docs(t)
        expect("docs: a man page cut short is missing keys",
               "build/man/rift-policy.5: [rule NAME] duration of docs/policy.md is not on the page"
               in r.stdout, r.stdout)


def main():
    test_layers()
    test_docs()
    if failed:
        print("checkers: %d failed" % len(failed))
        return 1
    print("checkers: tests/layers.py and tests/docs.py find what is planted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
