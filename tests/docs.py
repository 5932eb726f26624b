#!/usr/bin/python3
"""make docs: README.md and docs/ agree with the tree and with the loaders.

1. Every relative link (and image) in README.md, docs/*.md and the
   folders' README.md points at a file that is there, and a #fragment at a
   heading of that page.
2. The format pages name what the loaders take, and take what they name.
   For each format the loader itself is asked (through `rift check`, or
   `rift-shim --check` for a policy) with a file that has an unknown
   section, then an unknown key in each section it accepts: its error lists
   what there is. Each section has a heading `### [SECTION]` on its page,
   and each key a table row "| `key` |" under it; every key a page names is
   tried on the loader, which must not call it unknown.
3. The man pages made from the docs (make man) read as man pages and
   carry every key their docs page names.

    tests/docs.py [ROOT]    ROOT: the tree to read (this one); the loaders
                            are always this tree's bin/

Prints one line per problem and exits 1, or the counts and exits 0."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RIFT = os.path.join(ROOT, "bin", "rift")
SHIM = os.path.join(ROOT, "bin", "rift-shim")
MAX_README_LINES = 300


def pages():
    out = [os.path.join(ROOT, "README.md")]
    for d in ("docs",):
        for f in sorted(os.listdir(os.path.join(ROOT, d))):
            if f.endswith(".md"):
                out.append(os.path.join(ROOT, d, f))
    for d in sorted(os.listdir(os.path.join(ROOT, "harness"))):
        p = os.path.join(ROOT, "harness", d, "README.md")
        if os.path.exists(p):
            out.append(p)
    return out


def slugs(path):
    """The anchors GitHub makes of a page's headings."""
    seen, out = {}, set()
    fence = False
    for line in open(path, errors="replace"):
        if line.startswith("```"):
            fence = not fence
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fence or not m:
            continue
        s = re.sub(r"[^\w\- ]", "", m.group(1).lower().replace("`", "")).replace(" ", "-")
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else "%s-%d" % (s, n))
    return out


def links(bad):
    n = 0
    for page in pages():
        text = open(page, errors="replace").read()
        text = re.sub(r"```.*?```", "", text, flags=re.S)  # code is not a link
        text = re.sub(r"`[^`\n]*`", "", text)
        for m in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            n += 1
            path, _, frag = target.partition("#")
            full = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            where = os.path.relpath(page, ROOT)
            if not os.path.exists(full):
                bad.append("%s: link %s: no such file" % (where, target))
            elif frag and full.endswith(".md") and frag not in slugs(full):
                bad.append("%s: link %s: no heading #%s in %s" %
                           (where, target, frag, os.path.relpath(full, ROOT)))
    return n


def ask(argv_of, text):
    """The loader's stderr for a file of text."""
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "f.ini")
        with open(f, "w") as fh:
            fh.write(text)
        r = subprocess.run(argv_of(f), capture_output=True, text=True, timeout=30)
        return r.stderr


def listed(err):
    """The names in an error's "(expected a, b or c)" or "(...'s: a, b)"."""
    m = re.search(r"\((?:expected |[^()]*'s: )(.*)\)\s*$", err.strip())
    if not m:
        return None
    return [x.strip() for x in re.split(r",\s*|\s+or\s+", m.group(1)) if x.strip()]


def page_sections(path):
    """{section: [keys in its tables]} from '### [SECTION]' headings."""
    out, cur = {}, None
    for line in open(path, errors="replace"):
        m = re.match(r"(#{1,6})\s+(.*)$", line)
        if m:
            level = len(m.group(1))
            h = re.match(r"\[([^\]]+)\]\s*$", m.group(2).strip().strip("`"))
            if level == 3 and h:
                cur = h.group(1)
                out.setdefault(cur, [])
            elif level <= 3:
                cur = None  # a heading of level 4 or more stays in its section
            continue
        k = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if cur is not None and k:
            out[cur].append(k.group(1))
    return out


def instance(section):
    """[fault NAME] as a file writes it: [fault x]."""
    return re.sub(r"\b[A-Z]+\b", "x", section)


# The formats: page, how to ask the loader, the section a probe for an
# unknown key goes in before the one asked about (the hosts loader wants a
# host first), and sections whose keys are not names (checked another way
# or not at all).
# (page, the checker's argv for a file, lines a file needs before the
# probe, sections whose keys are not a fixed list, the sections the page
# documents: None for every section the loader takes). A SPEC takes a
# scenario's sections too, which scenario.md documents: chaos.md owns
# [chaos] only.
FORMATS = [
    ("docs/scenario.md", lambda f: [RIFT, "check", f], "", {"server", "timeline"}, None),
    ("docs/chaos.md", lambda f: [RIFT, "check", "--chaos", f], "", set(), ["chaos"]),
    ("docs/hosts.md", lambda f: [RIFT, "check", "--hosts", f],
     "[host h]\nssh = root@127.0.0.1\naddr = 127.0.0.1\n", {"placement"}, None),
    ("docs/policy.md", lambda f: [SHIM, "--policy", f, "--check"], "", set(), None),
]


def step_kinds(argv_of):
    err = ask(argv_of, "[timeline]\n1s = zzz_step m1\n")
    return listed(err) or []


def formats(bad):
    counts = [0, 0]
    rule_keys = page_sections(os.path.join(ROOT, "docs/policy.md")).get("rule NAME", [])
    for page, argv_of, pre, opaque, own in FORMATS:
        path = os.path.join(ROOT, page)
        if not os.path.exists(path):
            bad.append("%s: missing" % page)
            continue
        named = page_sections(path)
        if own is not None:
            sections = own
        else:
            sections = listed(ask(argv_of, pre + "[zzz_section]\n"))
            if not sections:
                bad.append("%s: the loader listed no sections" % page)
                continue
            sections = [s.strip("[]") for s in sections]
        for sec in sections:
            counts[0] += 1
            if sec not in named:
                bad.append("%s: no heading ### [%s] (the loader takes it)" % (page, sec))
                continue
            if sec == "timeline":
                have = {k.split()[0] for k in named[sec]}
                for kind in step_kinds(argv_of):
                    counts[1] += 1
                    if kind.split()[0] not in have:
                        bad.append("%s: [timeline]: step %s is not in a table" % (page, kind))
                continue
            if sec in opaque:
                continue
            err = ask(argv_of, pre + "[%s]\nzzz_key = 1\n" % instance(sec))
            keys = listed(err)
            if keys is None:
                bad.append("%s: [%s]: the loader's error lists no keys: %s" %
                           (page, sec, err.strip()))
                continue
            doc = named[sec] + (rule_keys if sec == "fault NAME" else [])
            for k in keys:
                counts[1] += 1
                if k not in doc:
                    bad.append("%s: [%s]: key %s is not in a table under its heading" %
                               (page, sec, k))
            for k in named[sec]:
                if k in keys:
                    continue
                err = ask(argv_of, pre + "[%s]\n%s = 1\n" % (instance(sec), instance(k)))
                if "unknown key" in err or "unknown section" in err:
                    bad.append("%s: [%s]: the page names %s, the loader refuses it: %s" %
                               (page, sec, k, err.strip()))
        for sec in named:
            if sec not in sections and own is None:
                bad.append("%s: heading ### [%s]: the loader has no such section" % (page, sec))
    return counts


MAN = {"rift.1": "docs/run.md", "rift-shim.8": "docs/shim.md", "rift-scenario.5":
       "docs/scenario.md", "rift-policy.5": "docs/policy.md", "rift-chaos.5": "docs/chaos.md"}


def man_pages(bad):
    """build/man (make man): each page has a NAME line, renders without an
    error, and a format's page carries every key its docs page names."""
    n = 0
    for page, doc in MAN.items():
        path = os.path.join(ROOT, "build", "man", page)
        if not os.path.exists(path):
            bad.append("build/man/%s: missing (make man)" % page)
            continue
        n += 1
        g = subprocess.run(["lexgrog", path], capture_output=True, text=True)
        if g.returncode != 0 or " - " not in g.stdout:
            bad.append("build/man/%s: no NAME line whatis can read: %s" % (page, g.stdout.strip()))
        r = subprocess.run(["man", "--nh", "--nj", "-l", path], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8"))
        if r.returncode != 0 or "error" in r.stderr:
            bad.append("build/man/%s: man -l: exit %d: %s" % (page, r.returncode, r.stderr[:300]))
        words = set(re.findall(r"[\w.@-]+", r.stdout))
        for sec, keys in page_sections(os.path.join(ROOT, doc)).items():
            for k in keys:
                if k.split()[0] not in words:
                    bad.append("build/man/%s: [%s] %s of %s is not on the page" %
                               (page, sec, k, doc))
    return n


def main():
    global ROOT
    if len(sys.argv) > 1:
        ROOT = os.path.abspath(sys.argv[1])
    bad = []
    n_links = links(bad)
    counts = formats(bad)
    n_man = man_pages(bad)
    readme = sum(1 for _ in open(os.path.join(ROOT, "README.md")))
    if readme > MAX_README_LINES:
        bad.append("README.md: %d lines (at most %d)" % (readme, MAX_README_LINES))
    for line in bad:
        print("docs: " + line)
    if bad:
        print("docs: %d problem%s" % (len(bad), "" if len(bad) == 1 else "s"))
        return 1
    print("docs: %d pages, %d relative links that resolve; %d sections and %d keys the "
          "loaders take, each on its page, and nothing a page names refused; %d man pages that "
          "carry them; README.md %d lines"
          % (len(pages()), n_links, counts[0], counts[1], n_man, readme))
    return 0


if __name__ == "__main__":
    sys.exit(main())
