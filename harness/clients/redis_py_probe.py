"""rift probe for redis-py's RedisCluster (the version on sys.path).

  python3 redis_py_probe.py --seeds HOST:PORT[,...] --source IP --duration S
                            [--interval-ms N] [--keys N] [--option KEY=VALUE ...]

Issues SET then GET on keys spread over all 16384 slots, round robin, and
prints one JSON line per operation to stdout:
  {"t_ms": CLOCK_MONOTONIC ms, "key": ..., "slot": ..., "op": "set"|"get",
   "ok": true|false, "kind": exception class or "ok", "msg": ...}
and first a line {"probe": "redis-py", "version": ..., "options": {...}}.
The client's sockets are bound to --source so that rift's faults on the
"clients" address apply to them."""
import argparse
import json
import os
import socket
import sys
import time

_real_socket = socket.socket
SOURCE = None


class _BoundSocket(_real_socket):
    """redis-py cannot bind a source address: bind every TCP socket it makes."""

    def connect(self, address):
        if SOURCE and self.family == socket.AF_INET and self.type == socket.SOCK_STREAM:
            try:
                self.bind((SOURCE, 0))
            except OSError:
                pass
        return super().connect(address)


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def key_slot(key):
    s = key.find("{")
    if s >= 0:
        e = key.find("}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key.encode()) & 16383


def spread_keys(n, tag):
    keys = []
    for i in range(n):
        lo, hi = i * 16384 // n, (i + 1) * 16384 // n - 1
        t = 0
        while True:
            k = "rift:probe:%s:{%d-%d}" % (tag, i, t)
            if lo <= key_slot(k) <= hi:
                keys.append(k)
                break
            t += 1
    return keys


def range_keys(spec, tag):
    """4 keys in each LO-HI range (the slots a scenario migrates)."""
    keys = []
    for r, part in enumerate(x for x in spec.split(",") if x):
        lo, _, hi = part.partition("-")
        lo, hi = int(lo), int(hi or lo)
        t = 0
        while len([k for k in keys if k.startswith("rift:probe:%s:r%d" % (tag, r))]) < 4:
            k = "rift:probe:%s:r%d:{%d}" % (tag, r, t)
            if lo <= key_slot(k) <= hi:
                keys.append(k)
            t += 1
    return keys


def parse_value(v):
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    try:
        return int(v)
    except ValueError:
        return v


def main():
    global SOURCE
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--interval-ms", type=float, default=10)
    ap.add_argument("--keys", type=int, default=32)
    ap.add_argument("--option", action="append", default=[])
    ap.add_argument("--ranges", default="", help="LO-HI,...: 4 more keys in each")
    a = ap.parse_args()
    SOURCE = a.source
    socket.socket = _BoundSocket
    import redis
    from redis.cluster import ClusterNode, RedisCluster

    options = {"require_full_coverage": False, "socket_timeout": 1.0,
               "socket_connect_timeout": 1.0}
    for o in a.option:
        k, _, v = o.partition("=")
        options[k] = parse_value(v)
    nodes = [ClusterNode(h, int(p)) for h, p in (s.rsplit(":", 1) for s in a.seeds.split(","))]
    out = sys.stdout
    out.write(json.dumps({"probe": "redis-py", "version": redis.__version__,
                          "options": options}, separators=(",", ":")) + "\n")
    out.flush()
    # after the header: the report records the options, never the password
    if os.environ.get("RIFT_PASSWORD"):
        options["password"] = os.environ["RIFT_PASSWORD"]
    keys = spread_keys(a.keys, "py") + range_keys(a.ranges, "py")
    client = None
    end = time.monotonic() + a.duration
    i = 0
    while time.monotonic() < end:
        key = keys[i % len(keys)]
        i += 1
        for op in ("set", "get"):
            t = time.monotonic()
            rec = {"t_ms": int(t * 1000), "key": key, "slot": key_slot(key), "op": op}
            try:
                if client is None:
                    client = RedisCluster(startup_nodes=nodes, **options)
                if op == "set":
                    client.set(key, str(i))
                else:
                    client.get(key)
                rec.update(ok=True, kind="ok", msg="")
            except Exception as e:  # every failure is data
                rec.update(ok=False, kind=type(e).__name__, msg=str(e)[:200])
            out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        out.flush()
        time.sleep(a.interval_ms / 1000.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
