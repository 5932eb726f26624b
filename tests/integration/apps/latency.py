"""PING round trips of the application (an unbound socket: the app's
address) and of a socket it binds itself to 127.0.0.50 (an address no rule
names), on the first of RIFT_SEEDS. Prints both medians in ms as JSON."""
import json
import os
import socket
import statistics
import time


def auth(s):
    """AUTH with the run's password (RIFT_PASSWORD), before anything else."""
    pw = os.environ["RIFT_PASSWORD"].encode()
    s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(pw), pw))
    assert s.recv(64) == b"+OK\r\n"


def rtts(bind, n=20):
    host, port = os.environ["RIFT_SEEDS"].split(",")[0].split(":")
    s = socket.socket()
    if bind:
        s.bind((bind, 0))
    s.connect((host, int(port)))
    auth(s)
    src = s.getsockname()[0]
    out = []
    for _ in range(n):
        t = time.monotonic()
        s.sendall(b"PING\r\n")
        s.recv(64)
        out.append((time.monotonic() - t) * 1000)
    s.close()
    return src, statistics.median(out)


app_src, app_ms = rtts(None)
other_src, other_ms = rtts("127.0.0.50")
print(json.dumps({"app_source": app_src, "app_ms": app_ms, "other_source": other_src,
                  "other_ms": other_ms}))
