"""What a process that reaches the nodes without the password gets: for
every node of RIFT_NODES, PING, CLUSTER NODES, FLUSHALL and CONFIG GET
without AUTH (each must be refused with NOAUTH), a wrong password (refused),
then RIFT_PASSWORD (accepted, PING answers PONG). Also checks that no
process of the host has the password on its command line. Prints one JSON
line; exits 0 only when every node refused everything it should. With
AUTH_CHECK_OUT=FILE it writes the password it was given there, so that a
test can look for it where it must not be."""
import json
import os
import socket
import sys


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def ask(f, s, *args):
    s.sendall(cmd(*args))
    line = f.readline()
    if line.startswith(b"$") and int(line[1:]) >= 0:
        f.read(int(line[1:]) + 2)
    return line.decode(errors="replace").strip()


def check_node(addr, pw):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    f = s.makefile("rb")
    got = {c: ask(f, s, *c.split()) for c in ("PING", "CLUSTER NODES", "FLUSHALL",
                                              "CONFIG GET requirepass")}
    got["AUTH wrong"] = ask(f, s, "AUTH", "not-" + pw)
    got["AUTH"] = ask(f, s, "AUTH", pw)
    got["PING after AUTH"] = ask(f, s, "PING")
    s.close()
    refused = all(got[c].startswith("-NOAUTH") for c in ("PING", "CLUSTER NODES", "FLUSHALL",
                                                         "CONFIG GET requirepass"))
    ok = refused and got["AUTH wrong"].startswith("-") and got["AUTH"] == "+OK" and \
        got["PING after AUTH"] == "+PONG"
    return ok, got


def cmdlines_with(pw):
    hits = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if pw.encode() in f.read():
                        hits.append(int(pid))
            except OSError:
                pass
    return hits


def main():
    pw = os.environ["RIFT_PASSWORD"]
    if os.environ.get("AUTH_CHECK_OUT"):
        with open(os.environ["AUTH_CHECK_OUT"], "w") as f:
            f.write(pw)
    nodes = dict(x.split("=", 1) for x in os.environ["RIFT_NODES"].split(","))
    res = {name: check_node(addr, pw) for name, addr in nodes.items()}
    hits = cmdlines_with(pw)
    print(json.dumps({"nodes": {n: g for n, (_, g) in res.items()},
                      "refused": sorted(n for n, (ok, _) in res.items() if ok),
                      "password_len": len(pw), "cmdlines_with_password": hits,
                      "url": os.environ["RIFT_URL"].replace(pw, "PASSWORD")}))
    sys.exit(0 if all(ok for ok, _ in res.values()) and not hits else 1)


main()
