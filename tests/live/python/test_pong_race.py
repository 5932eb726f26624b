"""The pong race (redis/redis#13018) provoked from a test: hold m1r1's bus
messages to m2, ask for m1r1's failover, and the cycles check fails with
the node that saw it and when."""
import time

import pytest

pytestmark = pytest.mark.rift_scenario("../pong-race.ini")


def test_pong_race_fails_the_cycles_check(rift_cluster):
    assert rift_cluster.fault("a-to-c", True)
    t = rift_cluster.failover("m1r1")
    assert t, t.text
    cycles = None
    end = time.monotonic() + 10
    while time.monotonic() < end:
        cycles = rift_cluster.check("cycles")
        if cycles.observations:
            break
        time.sleep(0.25)
    assert cycles.status == "fail", cycles
    first = cycles.observations[0]
    names = {n["name"] for n in rift_cluster.nodes}
    assert first["observer"] in names and first["first_ms"] > 0, first
    assert "m1r1" in first["what"], first
    assert rift_cluster.fault("a-to-c", False)
    rift_cluster.wait_converged("20s")
    result = rift_cluster.down()
    assert result.status == 1 and result.verdict == "fail", result.summary
    assert result.check("cycles").status == "fail"
