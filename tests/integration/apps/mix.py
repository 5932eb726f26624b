"""A known mix of requests for rift's CROSSSLOT audit, sent on one plain
connection to the first of RIFT_SEEDS (not a cluster client: the requests
go out as written, and the cluster's answer to each is counted). What a
cluster refuses, by construction:
  MSET foo bar x2 (slots 5061, 12182), MGET foo bar baz x1 (3 slots),
  MULTI SET b / SET bar / EXEC x1 (3300, 5061: both on m1 of 3 primaries),
  EVAL with k1 k2 x1 (449, 12706), SELECT 1 x1.
What it accepts: same-slot MSET and MGET with a hash tag, single-key
commands, an EVAL whose keys share a tag, MULTI on one slot, SELECT 0.
Prints one line per refused reply and exits 0."""
import os
import socket


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def main():
    pw = os.environ.get("RIFT_PASSWORD")  # rift's run sets it; a bare server has none
    host, port = os.environ["RIFT_SEEDS"].split(",")[0].split(":")
    s = socket.create_connection((host, int(port)))
    f = s.makefile("rb")
    if pw:
        s.sendall(resp("AUTH", pw))
        assert f.readline() == b"+OK\r\n"
    requests = [
        ("MSET", "{u}a", 1, "{u}b", 2), ("MSET", "foo", 1, "bar", 2), ("MSET", "foo", 3, "bar", 4),
        ("MGET", "{u}a", "{u}b"), ("MGET", "foo", "bar", "baz"), ("GET", "foo"), ("INCR", "n"),
        ("MULTI",), ("SET", "b", 1), ("SET", "bar", 2), ("EXEC",),
        ("MULTI",), ("SET", "{t}x", 1), ("SET", "{t}y", 2), ("EXEC",),
        ("EVAL", "return 1", 2, "k1", "k2"), ("EVAL", "return 1", 2, "{k}1", "{k}2"),
        ("SELECT", 1), ("SELECT", 0), ("DEL", "{u}a", "{u}b"),
    ]
    for r in requests:
        s.sendall(resp(*r))
        line = f.readline()
        if line.startswith(b"*"):  # EXEC's array: its elements
            for _ in range(int(line[1:])):
                f.readline()
        elif line.startswith(b"$") and int(line[1:]) >= 0:
            f.readline()
        if line.startswith(b"-"):
            print("%s: %s" % (r[0], line.decode().strip()))
    s.close()


main()
