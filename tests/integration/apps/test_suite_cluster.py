"""A pytest suite as a user would run it inside rift: `rift run SCN --
python3 -m pytest tests/...`. It reaches the cluster through RIFT_SEEDS.
RIFT_SUITE_FAIL=1 makes one test fail, as a broken application would."""
import os
import socket


def auth(s):
    """AUTH with the run's password (RIFT_PASSWORD), before anything else."""
    pw = os.environ["RIFT_PASSWORD"].encode()
    s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(pw), pw))
    assert s.recv(64) == b"+OK\r\n"


def seed():
    host, port = os.environ["RIFT_SEEDS"].split(",")[0].split(":")
    return host, int(port)


def ask(cmd):
    s = socket.create_connection(seed())
    auth(s)
    s.sendall(cmd)
    out = s.recv(4096)
    s.close()
    return out


def test_the_cluster_answers():
    assert ask(b"PING\r\n") == b"+PONG\r\n"


def test_cluster_mode_is_on():
    assert os.environ["RIFT_CLUSTER"] == "1"
    assert b"cluster_state:ok" in ask(b"CLUSTER INFO\r\n")


def test_what_a_broken_app_would_see():
    assert os.environ.get("RIFT_SUITE_FAIL") != "1", "told to fail"
